"""GradNorm: the direction uses the current weights; the weight update against a numpy reference."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.balancers.gradnorm import GradNorm
from mtl_zoo.errors import OptionError
from mtl_zoo.trunks.vision import vision_conv

TASKS = [Task("a", "regression"), Task("b", "regression"), Task("c", "binary")]
NAMES = [task.name for task in TASKS]


def reference_step(weights, grads, losses, first_losses, alpha, learning_rate):
    """Chen et al. (2018), eq. 2, with its gradient in w_t written out by hand.

    L_grad = sum_t |w_t ||g_t|| - mean(w ||g||) * r_t^alpha| with the target
    held constant has d L_grad / d w_t = sign(w_t ||g_t|| - target_t) ||g_t||;
    divided by mean ||g|| (scale-free step), floored at 1e-3, renormalized to K.
    """
    norms = np.sqrt((grads**2).sum(axis=1))
    ratios = losses / first_losses
    target = np.mean(weights * norms) * (ratios / ratios.mean()) ** alpha
    gradient = np.sign(weights * norms - target) * norms / norms.mean()
    stepped = np.maximum(weights - learning_rate * gradient, 1e-3)
    return len(weights) * stepped / stepped.sum()


def test_weight_updates_and_directions_against_numpy_on_fixed_gradient_rows():
    rng = np.random.default_rng(0)
    balancer = GradNorm(alpha=1.5, weight_learning_rate=0.1)
    balancer.build_for_tasks(TASKS)
    weights = np.ones(3)
    first = None
    for step in range(6):
        grads = (rng.normal(size=(3, 7)) * [[0.1], [1.0], [5.0]]).astype("float32")
        losses = np.array([2.0, 1.0, 0.7]) * np.array([0.9, 0.7, 0.95]) ** step
        first = losses if first is None else first
        balancer.combine(dict(zip(NAMES, losses.astype("float32"))), counts=dict(zip(NAMES, [4.0] * 3)), training=True)
        matrix = tf.constant(grads)
        direction = balancer.aggregate(matrix)
        np.testing.assert_allclose(direction.numpy(), grads.T @ weights, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(balancer.implied_weights(matrix, direction).numpy(), weights, rtol=1e-6)
        weights = reference_step(weights, grads.astype("float64"), losses, first, 1.5, 0.1)
        np.testing.assert_allclose(balancer.loss_weights.numpy(), weights, rtol=1e-5)
    assert balancer.loss_weights.numpy().sum() == pytest.approx(3.0, rel=1e-6)
    assert balancer.loss_weights.numpy()[0] > 1 > balancer.loss_weights.numpy()[2]  # small gradients get weight


def test_alpha_pulls_the_slower_task_up():
    """Equal gradient norms: with alpha > 0 the task whose loss fell least gains weight."""
    balancer = GradNorm(alpha=1.0)
    balancer.build_for_tasks(TASKS[:2])
    balancer.combine({"a": 1.0, "b": 1.0}, training=True)
    balancer.combine({"a": 0.2, "b": 0.9}, training=True)
    balancer.aggregate(tf.constant([[1.0, 0.0], [0.0, 1.0]]))
    expected = reference_step(np.ones(2), np.eye(2), np.array([0.2, 0.9]), np.ones(2), 1.0, 0.025)
    np.testing.assert_allclose(balancer.loss_weights.numpy(), expected, rtol=1e-6)
    assert expected[1] > expected[0]


def test_a_task_without_labels_keeps_its_weight_and_is_left_out_of_the_means():
    balancer = GradNorm(alpha=0.0, weight_learning_rate=0.2)
    balancer.build_for_tasks(TASKS)
    balancer.combine(dict(zip(NAMES, [1.0, 0.0, 1.0])), counts=dict(zip(NAMES, [3.0, 0.0, 3.0])), training=True)
    balancer.aggregate(tf.constant([[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]]))
    # Present tasks a, c: mean weighted norm 1.5, steps -0.2 * (+2 / 1.5) and -0.2 * (-1 / 1.5); b stays at 1.
    stepped = np.array([1 - 0.2 * 2 / 1.5, 1.0, 1 + 0.2 * 1 / 1.5])
    np.testing.assert_allclose(balancer.loss_weights.numpy(), 3 * stepped / stepped.sum(), rtol=1e-6)
    # Its first loss is taken when it first has labels.
    assert balancer.first_losses.numpy().tolist() == [1.0, 0.0, 1.0]
    balancer.combine(dict(zip(NAMES, [0.5, 0.8, 1.0])), training=True)
    assert balancer.first_losses.numpy().tolist() == pytest.approx([1.0, 0.8, 1.0])


def test_evaluation_leaves_the_recorded_losses_alone():
    balancer = GradNorm()
    balancer.build_for_tasks(TASKS)
    balancer.combine(dict(zip(NAMES, [1.0, 2.0, 3.0])), training=True)
    balancer.combine(dict(zip(NAMES, [9.0, 9.0, 9.0])), training=False)
    assert balancer.step_losses.numpy().tolist() == [1.0, 2.0, 3.0]


def test_trains_a_model_with_weights_summing_to_the_number_of_tasks():
    keras.utils.set_random_seed(0)
    inputs = {"image": InputSpec((6, 6, 1))}
    tasks = [Task("digit", "classification", 3), Task("flag", "binary")]
    model = build_model(inputs, vision_conv(inputs, filters=[4], dense_units=[8]), tasks, shared_depth=1,
                        balancer=GradNorm(task_gradients="loop"))
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    features = {"image": rng.random((32, 6, 6, 1), dtype="float32")}
    labels = {"digit": rng.integers(0, 3, 32), "flag": rng.integers(0, 2, 32).astype("float32")}
    history = model.fit(features, labels, batch_size=8, epochs=2, verbose=0).history
    weights = model.balancer.loss_weights.numpy()
    assert weights.sum() == pytest.approx(2.0, rel=1e-5) and not np.allclose(weights, 1.0)
    assert np.add(history["digit_weight"], history["flag_weight"]) == pytest.approx([2.0, 2.0], rel=1e-5)


@pytest.mark.parametrize("options, option", [({"alpha": -1.0}, "alpha"), ({"weight_learning_rate": 0.0}, "weight_learning_rate"),
                                             ({"alpha": float("nan")}, "alpha")])
def test_options_are_checked(options, option):
    with pytest.raises(OptionError, match=f"finite {option}") as error:
        GradNorm(**options)
    assert error.value.option == option


def test_config_round_trip():
    balancer = GradNorm(alpha=0.5, weight_learning_rate=0.1, task_gradients="loop")
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(balancer))
    assert (rebuilt.alpha, rebuilt.weight_learning_rate, rebuilt.task_gradients) == (0.5, 0.1, "loop")
