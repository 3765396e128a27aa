"""The gradient-balancer path of train_step, against the single-backward-pass path.

A gradient balancer whose `aggregate` sums the per-task gradients must move
every variable exactly as fixed weights do (one backward pass of the weighted
sum), whichever way the per-task gradients are computed.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.balancers.base import GradientBalancer
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((6, 6, 1))}
TASKS = [Task("digit", "classification", 3, loss_weight=0.5), Task("flag", "binary"), Task("value", "regression")]


class SumOfGradients(GradientBalancer):
    def aggregate(self, grads):
        return tf.reduce_sum(grads, axis=0)


class FirstTaskOnly(GradientBalancer):
    def aggregate(self, grads):
        return grads[0]


def data(size=12):
    rng = np.random.default_rng(8)
    features = {"image": rng.random((size, 6, 6, 1), dtype="float32")}
    labels = {
        "digit": np.where(rng.random(size) < 0.3, -1, rng.integers(0, 3, size)),
        "flag": rng.integers(0, 2, size).astype("float32"),
        "value": rng.normal(size=(size, 1)).astype("float32"),
    }
    labels["value"][:5] = np.nan
    return features, labels


def one_step(balancer):
    keras.utils.set_random_seed(4)
    model = build_model(INPUTS, vision_conv(INPUTS, filters=[4], dense_units=[8]), TASKS, shared_depth=1,
                        balancer=balancer)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    features, labels = data()
    logs = model.fit(features, labels, batch_size=12, epochs=1, verbose=0).history
    return model, before, {v.path: v.numpy() for v in model.trainable_variables}, logs


@pytest.mark.parametrize("method", ["vectorized", "loop"])
def test_summing_task_gradients_equals_the_weighted_sum_objective(method):
    _, before, fixed, fixed_logs = one_step("fixed")
    _, _, summed, summed_logs = one_step(SumOfGradients(task_gradients=method))
    for path in fixed:
        moved = np.max(np.abs(fixed[path] - before[path]))
        assert moved > 0, path
        np.testing.assert_allclose(summed[path], fixed[path], rtol=1e-5, atol=1e-6 * moved, err_msg=path)
    assert summed_logs["loss"][0] == pytest.approx(fixed_logs["loss"][0], rel=1e-6)


def test_shared_variables_follow_the_direction_and_private_ones_their_own_task():
    """With a direction of task 0 only, other tasks still train their private weights."""
    model, before, after, _ = one_step(FirstTaskOnly(task_gradients="loop"))
    mapping = model.variable_tasks
    shared = [path for path, tasks in mapping.items() if len(tasks) > 1]
    assert shared == ["shared_block_1/shared_block_1_conv/kernel", "shared_block_1/shared_block_1_conv/bias"]
    assert [variable.path for variable in model.shared_variables] == shared
    assert {v.path for v in model.private_variables} == {v.path for v in model.trainable_variables} - set(shared)
    assert not np.array_equal(after["flag/kernel"], before["flag/kernel"])
    # Reference for the shared kernel: SGD step along task 0's (weighted) gradient alone.
    keras.utils.set_random_seed(4)
    reference = build_model(INPUTS, vision_conv(INPUTS, filters=[4], dense_units=[8]), TASKS, shared_depth=1)
    features, labels = data()
    kernel = reference.network.get_layer("shared_block_1").trainable_weights[0]
    with tf.GradientTape() as tape:
        losses, _ = reference.compute_task_losses(labels, reference(features, training=True))
        digit = 0.5 * losses["digit"]
    expected = kernel.numpy() - 0.5 * tape.gradient(digit, kernel).numpy()
    np.testing.assert_allclose(after["shared_block_1/shared_block_1_conv/kernel"], expected, rtol=1e-5, atol=1e-7)


def test_logged_task_weights():
    """Fixed weights log each task's loss_weight; summed gradients imply weight 1 per (weighted) row."""
    *_, fixed_logs = one_step("fixed")
    assert fixed_logs["digit_weight"][0] == pytest.approx(0.5) and fixed_logs["flag_weight"][0] == pytest.approx(1.0)
    *_, summed_logs = one_step(SumOfGradients())
    for name in ("digit", "flag", "value"):
        assert summed_logs[f"{name}_weight"][0] == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("sharing, options", [("hard", {"shared_depth": 0}), ("soft", {})])
def test_with_nothing_shared_each_task_follows_its_own_gradient(sharing, options):
    """No variable serves two tasks: a gradient balancer has nothing to balance and trains like fixed weights."""
    def step(balancer):
        keras.utils.set_random_seed(4)
        model = build_model(INPUTS, vision_conv(INPUTS, filters=[4], dense_units=[8]), TASKS, sharing=sharing,
                            balancer=balancer, **options)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        features, labels = data()
        logs = model.fit(features, labels, batch_size=12, epochs=1, verbose=0).history
        return {v.path: v.numpy() for v in model.trainable_variables}, logs

    fixed, _ = step("fixed")
    balanced, logs = step("aligned_mtl")
    for path in fixed:
        np.testing.assert_allclose(balanced[path], fixed[path], rtol=1e-5, atol=1e-6, err_msg=path)
    assert logs["digit_weight"][0] == pytest.approx(0.5) and logs["flag_weight"][0] == pytest.approx(1.0)
