"""FAMO's logits and weights follow its update on a given loss sequence (numpy reference)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.famo import FAMO
from mtl_zoo.errors import OptionError
from mtl_zoo.models.objective import balanced_objective
from mtl_zoo.tasks.task import Task

TASKS = [Task("a", "regression"), Task("b", "binary", loss_weight=2.0), Task("c", "regression")]
NAMES = [task.name for task in TASKS]
LOSS_WEIGHTS = np.array([1.0, 2.0, 1.0])


class ReferenceFAMO:
    """Algorithm 1 of Liu et al. (2023), as in their code, with torch.optim.Adam(weight_decay) written out.

    `step(losses)` updates the logits from the previous losses to these (the
    delta of the log-losses through the softmax Jacobian), then returns the
    weights the losses get: z / D normalized.
    """

    def __init__(self, num_tasks, learning_rate, decay):
        self.logits = np.zeros(num_tasks)
        self.m, self.v, self.t = np.zeros(num_tasks), np.zeros(num_tasks), 0
        self.learning_rate, self.decay = learning_rate, decay
        self.previous = None

    @staticmethod
    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def step(self, losses, present):
        if self.previous is not None:
            previous, previous_present = self.previous
            delta = np.where(present & previous_present, np.log(previous + 1e-8) - np.log(losses + 1e-8), 0.0)
            z = self.softmax(self.logits)
            jacobian = np.diag(z) - np.outer(z, z)  # d z_i / d logit_j
            gradient = jacobian.T @ delta + self.decay * self.logits
            self.t += 1
            self.m = 0.9 * self.m + 0.1 * gradient
            self.v = 0.999 * self.v + 0.001 * gradient**2
            m_hat, v_hat = self.m / (1 - 0.9**self.t), self.v / (1 - 0.999**self.t)
            self.logits = self.logits - self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        self.previous = (losses, present)
        scores = np.where(present, self.softmax(self.logits) / (losses + 1e-8), 0.0)
        return scores / scores.sum()


LOSS_SEQUENCE = [
    ([2.0, 0.7, 1.0], [1, 1, 1]),
    ([1.5, 0.6, 0.9], [1, 1, 1]),
    ([1.4, 0.3, 0.95], [1, 1, 1]),
    ([1.2, 0.0, 0.7], [1, 0, 1]),  # no label of task b in this batch
    ([1.0, 0.25, 0.6], [1, 1, 1]),
    ([0.9, 0.2, 0.61], [1, 1, 1]),
    ([0.5, 0.19, 0.4], [1, 1, 1]),
]


@pytest.mark.parametrize("learning_rate, decay", [(0.025, 0.01), (0.5, 0.0), (0.1, 0.3)])
def test_logits_and_weights_follow_the_update_on_a_loss_sequence(learning_rate, decay):
    balancer = FAMO(logit_learning_rate=learning_rate, logit_decay=decay)
    balancer.build_for_tasks(TASKS)
    reference = ReferenceFAMO(3, learning_rate, decay)
    for losses, present in LOSS_SEQUENCE:
        counts = tf.constant(np.array(present, "float32") * 5)
        _, weights = balanced_objective(balancer, NAMES, tf.constant(losses), counts, training=True)
        expected = reference.step(LOSS_WEIGHTS * losses, np.array(present, bool))
        np.testing.assert_allclose(balancer.logits.numpy(), reference.logits, rtol=1e-4, atol=1e-6)
        # d objective / d L_t = w_t * loss_weight_t.
        np.testing.assert_allclose(weights.numpy(), expected * LOSS_WEIGHTS, rtol=1e-4, atol=1e-7)
    assert int(balancer.num_steps.numpy()) == len(LOSS_SEQUENCE)
    assert np.ptp(balancer.logits.numpy()) > 1e-3


def test_evaluation_steps_leave_the_state_alone():
    balancer = FAMO(logit_learning_rate=0.5)
    balancer.build_for_tasks(TASKS)
    for losses, _ in LOSS_SEQUENCE[:3]:
        balancer.combine(dict(zip(NAMES, losses)), training=True)
    state = [v.numpy().copy() for v in balancer.weights]
    balancer.combine(dict(zip(NAMES, [9.0, 9.0, 9.0])), training=False)
    for before, variable in zip(state, balancer.weights):
        np.testing.assert_array_equal(variable.numpy(), before)


def test_weights_sum_to_one_and_favour_the_slower_task():
    """Two tasks: the one whose loss keeps falling fast ends with less weight."""
    balancer = FAMO(logit_learning_rate=0.1)
    balancer.build_for_tasks([Task("fast", "regression"), Task("slow", "regression")])
    for step in range(30):
        _, weights = balanced_objective(balancer, ["fast", "slow"], tf.constant([0.8**step, 0.99**step]),
                                        tf.ones(2), training=True)
    z = tf.nn.softmax(balancer.logits).numpy()
    assert z[1] > z[0]
    assert float(tf.reduce_sum(weights)) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("option", ["logit_learning_rate", "logit_decay"])
def test_options_must_be_finite_and_not_negative(option):
    with pytest.raises(OptionError, match=f"finite {option} >= 0") as error:
        FAMO(**{option: -0.1})
    assert error.value.option == option


def test_config_round_trip():
    balancer = FAMO(logit_learning_rate=0.1, logit_decay=0.0)
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(balancer))
    assert (rebuilt.logit_learning_rate, rebuilt.logit_decay) == (0.1, 0.0)
