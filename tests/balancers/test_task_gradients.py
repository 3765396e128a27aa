"""Per-task gradient matrices against one independent tape per task."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.task_gradients import split_direction, task_gradient_matrix


def two_branch_losses():
    rng = np.random.default_rng(3)
    shared = tf.Variable(rng.normal(size=(3, 4)).astype("float32"))
    heads = [tf.Variable(rng.normal(size=(4, 1)).astype("float32")) for _ in range(2)]
    x = tf.constant(rng.normal(size=(5, 3)).astype("float32"))

    def losses():
        hidden = tf.tanh(x @ shared)
        return [tf.reduce_mean(tf.square(hidden @ head - 1.0)) * (index + 1.0) for index, head in enumerate(heads)]

    return shared, heads, losses


def reference_rows(variables, losses):
    rows = []
    for index in range(2):
        with tf.GradientTape() as tape:
            loss = losses()[index]
        gradients = tape.gradient(loss, variables)
        rows.append(np.concatenate([np.zeros(v.shape).ravel() if g is None else g.numpy().ravel()
                                    for g, v in zip(gradients, variables)]))
    return np.stack(rows)


@pytest.mark.parametrize("method", ["vectorized", "loop"])
@pytest.mark.parametrize("separate", [True, False], ids=["list", "tensor"])
def test_matrix_rows_are_each_tasks_gradient(method, separate):
    shared, heads, losses = two_branch_losses()
    variables = [shared, heads[0]]
    with tf.GradientTape(persistent=True) as tape:
        task_losses = losses() if separate else tf.stack(losses())
    matrix = task_gradient_matrix(tape, task_losses, variables, method=method)
    np.testing.assert_allclose(matrix.numpy(), reference_rows(variables, losses), rtol=1e-5, atol=1e-6)
    assert not np.any(matrix.numpy()[1, 12:])  # task 1 does not use heads[0]


def test_gradients_with_respect_to_a_recorded_tensor():
    shared, heads, _ = two_branch_losses()
    x = tf.ones((2, 3))
    with tf.GradientTape(persistent=True) as tape:
        hidden = x @ shared
        task_losses = [tf.reduce_sum(hidden @ head) for head in heads]
    matrix = task_gradient_matrix(tape, task_losses, [hidden], method="loop")
    expected = [np.tile(head.numpy()[:, 0], 2) for head in heads]  # d sum(h @ w) / dh = w for each row
    np.testing.assert_allclose(matrix.numpy(), expected, rtol=1e-6)


def test_split_direction_restores_the_variable_shapes():
    first, second = tf.Variable(tf.zeros((2, 3))), tf.Variable(tf.zeros((4,)))
    pieces = split_direction(tf.range(10, dtype=tf.float32), [first, second])
    np.testing.assert_array_equal(pieces[0].numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(pieces[1].numpy(), np.arange(6, 10))
