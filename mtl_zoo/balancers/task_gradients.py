"""Per-task gradients of the shared variables, as one `[num_tasks, dim]` matrix.

Gradient balancers (PCGrad, MGDA, CAGrad, ...) combine the tasks' gradients
with respect to the shared variables. This module computes them from a
persistent gradient tape, either in one vectorized pass
(`tape.jacobian(..., experimental_use_pfor=True)`) or with one backward pass
per task, flattens them into one matrix (row t = task t's gradient, columns
= the shared variables' entries, concatenated in order), and turns a combined
direction back into one gradient per variable.

With `rep_grad` the gradients are taken with respect to the network's shared
representation instead (a tensor, not variables): `RepresentationSplit` cuts
the network there into an encoder (inputs -> representation) and a decoder
(representation -> outputs) sharing the network's layers.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.task_gradients import task_gradient_matrix, split_direction
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

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from mtl_zoo.sharing.result import shared_representation

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

    Given as a list of scalars, each computed from its own task's outputs
    only, the "loop" method's backward pass for a task skips the other
    tasks' layers (a `[num_tasks]` tensor makes every pass go through all
    of them, with zeros for the other tasks).

    Args:
        tape: persistent `tf.GradientTape` that recorded `task_losses`.
        task_losses: float32 tensor `[num_tasks]`, or a list of float32
            scalars (one per task).
        variables: list of variables (the shared ones), or tensors the tape
            recorded.
        method: str. "vectorized" (one `jacobian` pass) or "loop" (one
            backward pass per task). Defaults to "vectorized".

    Returns:
        A float32 tensor of shape `[num_tasks, sum of variable sizes]`.
    """
    if method not in TASK_GRADIENT_METHODS:
        raise ValueError(
            f"method must be one of {TASK_GRADIENT_METHODS}. Received: method={method!r}"
        )
    if isinstance(task_losses, (list, tuple)):
        separate = list(task_losses)
        with tape:  # the stacked vector must be on the tape too
            task_losses = tf.stack(separate)
    else:
        separate = None
    num_tasks = int(task_losses.shape[0])
    if method == "vectorized":
        jacobians = tape.jacobian(
            task_losses, variables, experimental_use_pfor=True,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        return _flat_rows(jacobians, variables, num_tasks)
    rows = []
    for index in range(num_tasks):
        if separate is None:
            selector = tf.one_hot(index, num_tasks, dtype=task_losses.dtype)
            gradients = tape.gradient(task_losses, variables, output_gradients=selector)
        else:
            gradients = tape.gradient(separate[index], variables)
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


@dataclasses.dataclass
class RepresentationSplit:
    """The network cut at its shared representation; both parts share the network's layers.

    Args:
        encoder: `keras.Model`, the network's inputs -> the representation.
        decoder: `keras.Model`, the representation -> the network's outputs.
    """

    encoder: keras.Model
    decoder: keras.Model

    @classmethod
    def of(cls, network) -> "RepresentationSplit":
        """Splits `network` at its marked shared representation (`mtl_zoo.sharing.result`).

        Raises:
            ValueError: the network marks no shared representation, or an
                output does not depend on the inputs through it alone.
        """
        representation = shared_representation(network)
        if representation is None:
            raise ValueError(
                "rep_grad needs a network with a marked shared representation, as `hard` sharing with "
                "shared_depth >= 1 gives: set rep_grad to false or use hard sharing. "
                f"Received: rep_grad=True and network '{network.name}' without one"
            )
        try:
            decoder = keras.Model(representation, network.output, name=f"{network.name}_decoder")
        except ValueError:
            raise ValueError(
                "rep_grad needs every output of the network to be computed from its shared representation "
                "alone: set rep_grad to false. "
                f"Received: rep_grad=True and network '{network.name}' with an output that bypasses it"
            ) from None
        return cls(keras.Model(network.input, representation, name=f"{network.name}_encoder"), decoder)
