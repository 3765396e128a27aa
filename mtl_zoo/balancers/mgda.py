"""MGDA: the min-norm point of the convex hull of the task gradients.

Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization",
NeurIPS 2018, https://arxiv.org/abs/1810.04650.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.mgda import MGDA
>>> direction = MGDA().aggregate(tf.constant([[1.0, 0.0], [0.0, 1.0]]))
>>> [round(float(value), 4) for value in direction]
[0.5, 0.5]
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import compiled, quadratic_program, scaled_gram
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS

# Diagonal added (on the scaled Gram matrix) for tasks without a gradient, so they stay out of the hull.
EMPTY_TASK_PENALTY = 1e6


@BALANCERS.register("mgda")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class MGDA(GradientWeighting):
    """Multiple-gradient descent: the shortest vector in the convex hull of the task gradients.

    The weights `w` (on the simplex) minimize `|sum_t w_t g_t|`; the result
    is a direction along which no task's loss increases (to first order),
    or zero at a Pareto-stationary point. With two tasks the weight is
    `clip((g2 - g1) . g2 / |g1 - g2|^2, 0, 1)` on `g1`. Tasks without a
    gradient on a step (no labels in the batch) are left out of the hull
    instead of stopping the update. The direction has the scale of one task
    gradient (weights sum to 1).

    `rep_grad=True` is the paper's MGDA-UB: the weights come from the
    gradients with respect to the shared representation (the output of the
    last shared layer), whose min-norm problem is an upper bound of the one
    on the shared variables (Section 3.3), and the step is one backward
    pass of the weighted losses.

    Args: `task_gradients` and `rep_grad` of `GradientWeighting`, and Keras
    layer arguments.
    """

    def gram_weights(self, gram):
        return min_norm_weights(gram)


@compiled
def min_norm_weights(gram):
    """Weights on the simplex of the min-norm point of the convex hull, from the Gram matrix `[K, K]`.

    Tasks whose gradient is zero get weight 0 (all tasks do if all are zero).
    """
    gram = scaled_gram(gram)
    empty = tf.linalg.diag_part(gram) <= 0.0
    penalty = tf.where(empty, tf.constant(EMPTY_TASK_PENALTY, tf.float64), tf.constant(0.0, tf.float64))
    weights = quadratic_program(gram + tf.linalg.diag(penalty), tf.zeros_like(penalty)[None], simplex=True)[0]
    kept = tf.where(empty, tf.zeros_like(weights), weights)
    total = tf.reduce_sum(kept)
    return kept / tf.where(total > 0.0, total, tf.ones_like(total))
