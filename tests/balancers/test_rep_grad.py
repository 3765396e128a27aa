"""`rep_grad` (MGDA-UB): task weights from gradients with respect to the shared representation.

The reference takes each task's gradient with respect to the output of the
last shared layer with its own `tf.GradientTape`, solves the two-task
min-norm problem in closed form with numpy, and moves the variables by hand:
the shared layer along the gradient of `alpha * l1 + (1 - alpha) * l2`, the
task layers along their own task's gradient (Sener & Koltun 2018,
Algorithm 2).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS
from mtl_zoo.sharing.result import shared_representation
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"x": InputSpec((3,))}
TASKS = [Task("a", "regression"), Task("b", "regression", loss_weight=0.5)]
LEARNING_RATE = 0.1
REP_GRAD_METHODS = sorted(name for name in BALANCERS.names() if issubclass(BALANCERS.get(name), GradientWeighting))


def dense_trunk():
    return Trunk([lambda prefix: keras.layers.Dense(4, activation="tanh", name=f"{prefix}_dense")] * 2)


def batch(size=8):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(size, 3)).astype("float32")
    a = (x[:, :1] * 2.0 - x[:, 1:2]).astype("float32")
    b = (1.0 - x[:, 2:3] * 3.0).astype("float32")
    b[[1, 6]] = np.nan
    return {"x": x}, {"a": a, "b": b}


def trained_one_step(balancer):
    keras.utils.set_random_seed(7)
    model = build_model(INPUTS, dense_trunk(), TASKS, shared_depth=1, balancer=balancer)
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE))
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    features, labels = batch()
    logs = model.fit(features, labels, batch_size=8, epochs=1, verbose=0, shuffle=False).history
    return model, before, logs


def reference_step(model, before, weights_of_gram):
    """SGD step of MGDA-UB computed by hand from the variables before the step."""
    network = model.network
    shared = network.get_layer("shared_block_1_dense")
    layers = {name: (network.get_layer(f"{name}_block_2_dense"), network.get_layer(name)) for name in ("a", "b")}
    variables = {v.path: v for v in model.trainable_variables}
    for path, value in before.items():
        variables[path].assign(value)
    features, labels = batch()
    with tf.GradientTape(persistent=True) as tape:
        representation = shared(features["x"])
        tape.watch(representation)
        losses = []
        for name, task in zip(("a", "b"), TASKS):
            block, head = layers[name]
            prediction = head(block(representation))
            observed = ~np.isnan(labels[name])
            errors = tf.boolean_mask(tf.square(prediction - np.nan_to_num(labels[name])), observed)
            losses.append(task.loss_weight * tf.reduce_mean(errors))
    rows = np.stack([tape.gradient(loss, representation).numpy().ravel() for loss in losses]).astype("float64")
    weights = weights_of_gram(rows @ rows.T)
    expected = {}
    for variable in shared.trainable_variables:  # the gradient of weights[0] * l1 + weights[1] * l2
        gradient = sum(weight * tape.gradient(loss, variable).numpy() for weight, loss in zip(weights, losses))
        expected[variable.path] = before[variable.path] - LEARNING_RATE * gradient
    for name, loss in zip(("a", "b"), losses):
        for layer in layers[name]:
            for variable in layer.trainable_variables:
                expected[variable.path] = before[variable.path] - LEARNING_RATE * tape.gradient(loss, variable).numpy()
    return weights, expected


def two_task_min_norm(gram):
    """Closed form: alpha = clip((g2 - g1) . g2 / |g1 - g2|^2, 0, 1) on g1."""
    alpha = np.clip((gram[1, 1] - gram[0, 1]) / (gram[0, 0] + gram[1, 1] - 2 * gram[0, 1]), 0.0, 1.0)
    return np.array([alpha, 1.0 - alpha])


@pytest.mark.parametrize("method", ["vectorized", "loop"])
def test_mgda_ub_step_matches_the_two_task_closed_form(method):
    model, before, logs = trained_one_step(BALANCERS.get("mgda")(rep_grad=True, task_gradients=method))
    after = {v.path: v.numpy() for v in model.trainable_variables}
    weights, expected = reference_step(model, before, two_task_min_norm)
    assert 0.02 < weights[0] < 0.98, weights  # the tasks' representation gradients conflict: an interior alpha
    assert [logs["a_weight"][0], logs["b_weight"][0]] == pytest.approx(weights, abs=1e-5)
    assert sorted(expected) == sorted(after)
    for path, value in expected.items():
        moved = np.max(np.abs(value - before[path]))
        assert moved > 0, path
        np.testing.assert_allclose(after[path], value, rtol=1e-4, atol=1e-4 * moved, err_msg=path)


@pytest.mark.parametrize("name", [name for name in REP_GRAD_METHODS if name != "mgda"])
def test_every_weighting_method_steps_with_its_weights_of_the_representation_gradients(name):
    model, before, logs = trained_one_step(BALANCERS.get(name)(rep_grad=True))
    after = {v.path: v.numpy() for v in model.trainable_variables}
    fresh = BALANCERS.get(name)()  # a fresh step counter: the same random order as the model's first step
    fresh.build_for_tasks(TASKS)  # state of its own (gradnorm's weights), as the model's before its first step

    def weights_of_gram(gram):
        return fresh.gram_weights(tf.constant(gram)).numpy()

    weights, expected = reference_step(model, before, weights_of_gram)
    assert [logs["a_weight"][0], logs["b_weight"][0]] == pytest.approx(weights, rel=1e-4, abs=1e-6)
    for path, value in expected.items():
        moved = np.max(np.abs(value - before[path]))
        np.testing.assert_allclose(after[path], value, rtol=1e-4, atol=1e-4 * moved + 1e-7, err_msg=path)


def test_hard_sharing_marks_the_last_shared_block_and_only_with_shared_blocks():
    inputs = {"image": InputSpec((6, 6, 1))}
    trunk = vision_conv(inputs, filters=[4, 4], dense_units=[8])
    deep = build_model(inputs, trunk, TASKS, shared_depth=2)
    assert shared_representation(deep.network).shape == deep.network.get_layer("shared_block_2").output.shape
    assert shared_representation(build_model(inputs, trunk, TASKS, shared_depth=0).network) is None


@pytest.mark.parametrize("sharing, options", [("hard", {"shared_depth": 0}), ("mmoe", {})])
def test_rep_grad_without_a_shared_representation_is_a_one_line_error(sharing, options):
    inputs = {"image": InputSpec((6, 6, 1))}
    with pytest.raises(ValueError, match="rep_grad needs a network with a marked shared representation") as error:
        build_model(inputs, vision_conv(inputs, filters=[4], dense_units=[8]), TASKS, sharing=sharing,
                    balancer=BALANCERS.get("mgda")(rep_grad=True), **options)
    assert "\n" not in str(error.value)


def test_graddrop_has_no_rep_grad_and_rep_grad_must_be_a_bool():
    with pytest.raises((TypeError, ValueError), match="rep_grad"):
        BALANCERS.get("graddrop")(rep_grad=True)
    with pytest.raises(ValueError, match="rep_grad must be true or false"):
        BALANCERS.get("mgda")(rep_grad="yes")


@pytest.mark.parametrize("name", ["mgda", "pcgrad", "cagrad"])
def test_auto_takes_per_task_gradients_by_loop(name):
    balancer = BALANCERS.get(name)
    assert balancer(rep_grad=True).task_gradient_method == "loop"
    assert balancer().task_gradient_method == "loop"
    assert balancer(task_gradients="vectorized").task_gradient_method == "vectorized"
    assert balancer(rep_grad=True, task_gradients="vectorized").task_gradient_method == "vectorized"
    with pytest.raises(OptionError, match="task_gradients must be one of auto, vectorized, loop"):
        balancer(task_gradients="jacobian")
