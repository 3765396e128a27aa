"""Per-task gradients of the shared variables, as one `[num_tasks, dim]` matrix.

Gradient balancers (PCGrad, MGDA, CAGrad, ...) combine the tasks' gradients
with respect to the shared variables. This module computes them from a
persistent gradient tape, either in one vectorized pass
(`tape.jacobian(..., experimental_use_pfor=True)`) or with one backward pass
per task, flattens them into one matrix (row t = task t's gradient, columns
= the shared variables' entries, concatenated in order), and turns a combined
direction back into one gradient per variable.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.task_gradients import task_gradient_matrix, split_direction
>>> w = tf.Variable([1.0, 2.0])
>>> with tf.GradientTape(persistent=True) as tape:
...     losses = tf.stack([tf.reduce_sum(w * w), tf.reduce_sum(3.0 * w)])
>>> matrix = task_gradient_matrix(tape, losses, [w], method="vectorized")
>>> matrix.numpy().tolist()
[[2.0, 4.0], [3.0, 3.0]]
>>> [g.numpy().tolist() for g in split_direction(tf.constant([1.0, 0.5]), [w])]
[[1.0, 0.5]]
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

TASK_GRADIENT_METHODS = ("vectorized", "loop")


def _flat_rows(gradients, variables, num_tasks):
    rows = []
    for gradient, variable in zip(gradients, variables):
        if gradient is None:
            rows.append(tf.zeros((num_tasks, int(np.prod(variable.shape))), "float32"))
        else:
            rows.append(tf.reshape(tf.cast(gradient, "float32"), (num_tasks, -1)))
    return tf.concat(rows, axis=1)


def task_gradient_matrix(tape, task_losses, variables, method: str = "vectorized"):
    """Returns the `[num_tasks, dim]` matrix of per-task gradients.

    Args:
        tape: persistent `tf.GradientTape` that recorded `task_losses`.
        task_losses: float32 tensor `[num_tasks]`.
        variables: list of variables (the shared ones).
        method: str. "vectorized" (one `jacobian` pass) or "loop" (one
            backward pass per task). Defaults to "vectorized".

    Returns:
        A float32 tensor of shape `[num_tasks, sum of variable sizes]`.
    """
    if method not in TASK_GRADIENT_METHODS:
        raise ValueError(
            f"method must be one of {TASK_GRADIENT_METHODS}. Received: method={method!r}"
        )
    num_tasks = int(task_losses.shape[0])
    if method == "vectorized":
        jacobians = tape.jacobian(
            task_losses, variables, experimental_use_pfor=True,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        return _flat_rows(jacobians, variables, num_tasks)
    rows = []
    for index in range(num_tasks):
        selector = tf.one_hot(index, num_tasks, dtype=task_losses.dtype)
        gradients = tape.gradient(task_losses, variables, output_gradients=selector)
        rows.append(_flat_rows([None if g is None else tf.expand_dims(g, 0) for g in gradients], variables, 1))
    return tf.concat(rows, axis=0)


def split_direction(direction, variables) -> list:
    """Splits a flat `[dim]` direction into one tensor per variable, shaped like it.

    Args:
        direction: float32 tensor `[sum of variable sizes]`.
        variables: list of variables, in the order of the matrix's columns.
    """
    sizes = [int(np.prod(variable.shape)) for variable in variables]
    pieces = tf.split(direction, sizes)
    return [
        tf.cast(tf.reshape(piece, variable.shape), variable.dtype)
        for piece, variable in zip(pieces, variables)
    ]
