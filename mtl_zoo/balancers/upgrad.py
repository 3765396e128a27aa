"""UPGrad: project every task gradient onto the cone of directions that conflict with no task; average.

Quinton & Rey, "Jacobian Descent for Multi-Objective Optimization", 2024,
https://arxiv.org/abs/2406.16232.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.upgrad import UPGrad
>>> direction = UPGrad().aggregate(tf.constant([[1.0, 1.0], [-1.0, 0.0]]))
>>> [round(float(value), 4) for value in direction]  # mean of (0, 1) and (-0.5, 0.5)
[-0.25, 0.75]
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import compiled, quadratic_program, scaled_gram
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("upgrad")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class UPGrad(GradientWeighting):
    """Unconflicting projection of gradients (UPGrad), the Jacobian descent aggregator.

    Each task gradient `g_i` is projected onto the dual cone
    `{x : g_j . x >= 0 for every task j}`; the direction is the mean of the
    projections, so it conflicts with no task (non-negative inner product
    with every task gradient) and equals the mean gradient when no two
    tasks conflict. By duality the projection of `g_i` is `sum_j v_j g_j`
    with `v = argmin_{v >= e_i} v^T G G^T v`: one small quadratic program
    per task on the Gram matrix (solved together, by an interior-point
    method, instead of the reference code's `quadprog`).

    Args: `task_gradients` and `rep_grad` of `GradientWeighting`, and Keras
    layer arguments.
    """

    def gram_weights(self, gram):
        return projection_weights(gram)


@compiled
def projection_weights(gram):
    """UPGrad's weights from the Gram matrix `[K, K]`: the mean of the K projections' weights."""
    gram = scaled_gram(gram)
    # Problem i: v = e_i + x, x >= 0, minimizing x^T gram x / 2 + (gram e_i)^T x.
    extra = quadratic_program(gram, gram, simplex=False)
    return (1.0 + tf.reduce_sum(extra, axis=0)) / tf.cast(tf.shape(gram)[0], tf.float64)
