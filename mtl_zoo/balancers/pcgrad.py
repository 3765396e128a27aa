"""PCGrad: project each task gradient off the gradients it conflicts with.

Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient Surgery for Multi-Task
Learning", NeurIPS 2020, https://arxiv.org/abs/2001.06782.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.pcgrad import PCGrad
>>> direction = PCGrad().aggregate(tf.constant([[1.0, 1.0], [-1.0, 0.0]]))
>>> [round(float(value), 4) for value in direction]  # (0, 1) + (-0.5, 0.5)
[-0.5, 1.5]
"""

from __future__ import annotations

from typing import Literal

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import RandomPerStep, compiled
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("pcgrad")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class PCGrad(RandomPerStep, GradientWeighting):
    """Projecting conflicting gradients ("gradient surgery"), summed.

    Each task gradient `g_i` visits the other tasks in a random order; when
    it conflicts with `g_j` (negative inner product), its component along
    `g_j` is removed: `g_i -= (g_i . g_j / |g_j|^2) g_j`. The direction is the
    sum of the projected gradients (the plain sum when nothing conflicts).
    The projections are carried out on the Gram matrix, so each costs
    `O(num_tasks)` whatever the number of shared parameters. The order of
    step `n` is a stateless function of `(seed, n)`, with `n` a step counter
    saved with the model: identical on every replica and reproducible.

    Args:
        seed: int. Seed of the random task orders. Defaults to 0.
        task_gradients: str. "auto", "vectorized" or "loop" (see
            `GradientBalancer`). Defaults to "auto".
        rep_grad: bool. Weigh the tasks by their gradients with respect to
            the shared representation (see `GradientWeighting`). Defaults
            to False.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, seed: int = 0, task_gradients: Literal["auto", "vectorized", "loop"] = "auto",
                 rep_grad: bool = False, **kwargs):
        super().__init__(task_gradients=task_gradients, rep_grad=rep_grad, **kwargs)
        self.set_seed(seed, "PCGrad")

    def gram_weights(self, gram):
        num_tasks = gram.shape[0]
        # orders[i]: the order in which task i visits the tasks (itself skipped).
        uniform = tf.random.stateless_uniform([num_tasks, num_tasks], self.step_seed())
        return projection_weights(gram, tf.argsort(uniform))

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


@compiled
def projection_weights(gram, orders):
    """PCGrad's weights from the Gram matrix `[K, K]` and each task's visiting order `[K, K]`.

    Row i of the coefficient matrix holds task i's projected gradient in
    terms of the task gradients; the weights are its column sums.
    """
    num_tasks = gram.shape[0]
    squared_norms = tf.linalg.diag_part(gram)
    tasks = tf.range(num_tasks, dtype=orders.dtype)
    coefficients = tf.eye(num_tasks, dtype=tf.float64)
    for position in range(num_tasks):
        other = orders[:, position]
        products = tf.gather(tf.matmul(coefficients, gram), other, axis=1, batch_dims=1)
        conflict = (products < 0.0) & (other != tasks)
        shares = tf.where(conflict, tf.math.divide_no_nan(products, tf.gather(squared_norms, other)), 0.0)
        coefficients -= shares[:, None] * tf.one_hot(other, num_tasks, dtype=tf.float64)
    return tf.reduce_sum(coefficients, axis=0)
