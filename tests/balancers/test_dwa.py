"""Dynamic weight average follows its formula on a given loss history, and in a real fit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.dwa import DynamicWeightAverage
from mtl_zoo.errors import OptionError
from mtl_zoo.models.multi_task_model import MultiTaskModel
from mtl_zoo.models.objective import balanced_objective
from mtl_zoo.tasks.task import Task

TASKS = [Task("a", "regression"), Task("b", "binary", loss_weight=0.5), Task("c", "regression")]
HISTORY = np.array([[2.0, 0.7, 1.0], [1.5, 0.69, 0.2], [1.0, 0.6, 0.19], [0.9, 0.3, 0.18], [0.8, 0.29, 0.2]])


def reference_weights(history, epoch, temperature):
    """Liu et al. (2019), eq. 7: the weights used during `epoch` (0-based), from the two epochs before it."""
    if epoch < 2:
        return np.ones(history.shape[1])
    ratios = history[epoch - 1] / history[epoch - 2]
    return history.shape[1] * np.exp(ratios / temperature) / np.sum(np.exp(ratios / temperature))


@pytest.mark.parametrize("temperature", [2.0, 0.5])
def test_weights_follow_the_formula_on_a_given_loss_history(temperature):
    balancer = DynamicWeightAverage(temperature=temperature)
    balancer.build_for_tasks(TASKS)
    for epoch, losses in enumerate(HISTORY):
        np.testing.assert_allclose(balancer.loss_weights.numpy(), reference_weights(HISTORY, epoch, temperature),
                                   rtol=1e-6)
        balancer.on_epoch_end(epoch, {"loss": 9.0, **{f"{task.name}_loss": loss for task, loss in zip(TASKS, losses)},
                                      **{f"val_{task.name}_loss": 5.0 for task in TASKS}})
    np.testing.assert_allclose(balancer.loss_weights.numpy(), reference_weights(HISTORY, len(HISTORY), temperature),
                               rtol=1e-6)


def test_objective_weights_each_loss_by_dwa_times_loss_weight():
    balancer = DynamicWeightAverage()
    balancer.build_for_tasks(TASKS)
    for epoch in range(3):
        balancer.on_epoch_end(epoch, {f"{task.name}_loss": loss for task, loss in zip(TASKS, HISTORY[epoch])})
    losses = tf.constant([1.0, 2.0, 3.0])
    objective, weights = balanced_objective(balancer, ["a", "b", "c"], losses, tf.ones(3), training=True)
    expected = reference_weights(HISTORY, 3, 2.0) * [1.0, 0.5, 1.0]
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)
    assert float(objective) == pytest.approx(float(np.dot(expected, losses.numpy())), rel=1e-6)


def test_missing_task_losses_in_the_logs_are_an_error():
    balancer = DynamicWeightAverage()
    balancer.build_for_tasks(TASKS)
    with pytest.raises(ValueError, match=r"\['b_loss'\] are missing"):
        balancer.on_epoch_end(0, {"a_loss": 1.0, "c_loss": 1.0})


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), True, "2"])
def test_temperature_must_be_positive_and_finite(temperature):
    with pytest.raises(OptionError, match="temperature > 0") as error:
        DynamicWeightAverage(temperature=temperature)
    assert error.value.option == "temperature"


def test_logged_weights_in_a_fit_follow_the_logged_losses():
    """The `{task}_weight` of epoch e is the formula on the `{task}_loss` of epochs e-1 and e-2."""
    keras.utils.set_random_seed(2)
    tasks = [Task("a", "regression"), Task("b", "regression")]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype("float32")
    labels = {"a": x @ np.array([[1.0], [2.0], [0.0]], "float32"), "b": np.sin(x[:, :1]) * 3.0}
    inputs = keras.Input((3,), name="x")
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    network = keras.Model({"x": inputs}, {name: keras.layers.Dense(1, name=name)(hidden) for name in ("a", "b")})
    model = MultiTaskModel(network, tasks, balancer=DynamicWeightAverage(temperature=0.5))
    model.compile(optimizer=keras.optimizers.SGD(0.02))
    history = model.fit({"x": x}, labels, batch_size=32, epochs=5, verbose=0).history
    losses = np.array([history["a_loss"], history["b_loss"]]).T
    logged = np.array([history["a_weight"], history["b_weight"]]).T
    for epoch in range(5):
        np.testing.assert_allclose(logged[epoch], reference_weights(losses, epoch, 0.5), rtol=1e-5)
    assert not np.allclose(logged[4], 1.0)
