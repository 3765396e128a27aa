"""CAGrad: the best worst-case improvement within a ball around the mean gradient.

Liu, Liu, Jin, Stone & Liu, "Conflict-Averse Gradient Descent for
Multi-task Learning", NeurIPS 2021, https://arxiv.org/abs/2110.14048.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancing.cagrad import CAGrad
>>> direction = CAGrad(c=0.0).aggregate(tf.constant([[1.0, 0.0], [0.0, 3.0]]))
>>> [round(float(value), 4) for value in direction]  # c = 0: the mean gradient
[0.5, 1.5]
"""

from __future__ import annotations

import numbers
from typing import Literal

import keras
import tensorflow as tf

from mtl_zoo.balancing.gradient_math import gram_matrix, quadratic_program, scaled_gram
from mtl_zoo.balancing.gradient_weighting import GradientWeighting
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS

# The best worst-case improvement is found by two rounds of a grid search over this many levels.
SEARCH_ROUNDS = 2
SEARCH_POINTS = 32
# Added to the linear term of tasks without a gradient, so they stay out of the worst case.
EMPTY_TASK_PENALTY = 1e3


@BALANCERS.register("cagrad")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class CAGrad(GradientWeighting):
    """Conflict-averse gradient descent.

    Maximizes the smallest task improvement `min_i g_i . d` over directions
    `d` within `c |g0|` of the mean gradient `g0`, and rescales the result by
    `1 / (1 + c^2)` as the paper's code does; `c = 0` gives the mean
    gradient. The paper solves the dual (weights `w` on the simplex
    minimizing `g_w . g0 + c |g0| |g_w|`) with scipy; here the best worst
    case `t` is found by a grid search in two rounds, each level's
    direction being the projection of `g0` onto `{d : g_i . d >= t}` (a
    small quadratic program on the Gram matrix, solved for all levels at
    once): the optimum is the level whose projection is `c |g0|` away.
    Tasks without a gradient on a step (no labels in the batch) are left
    out of the worst case.

    Args:
        c: float. Radius of the ball around the mean gradient, relative to
            its norm; 0 <= c < 1 (with c >= 1 the ball holds the zero update,
            and the paper's convergence guarantee is lost). Defaults to 0.4.
        task_gradients: str. "vectorized" or "loop" (see `GradientBalancer`).
            Defaults to "vectorized".
        **kwargs: Keras layer arguments.
    """

    def __init__(self, c: float = 0.4, task_gradients: Literal["vectorized", "loop"] = "vectorized", **kwargs):
        super().__init__(task_gradients=task_gradients, **kwargs)
        if not isinstance(c, numbers.Real) or isinstance(c, bool) or not 0.0 <= c < 1.0:
            raise OptionError(
                "c", f"CAGrad needs a radius 0 <= c < 1 (the paper's convergence condition). Received: c={c!r}"
            )
        self.c = float(c)

    def task_weights(self, grads):
        num_tasks = grads.shape[0]
        mean_weights = tf.fill([num_tasks], tf.constant(1.0 / num_tasks, tf.float64))
        if self.c == 0.0:
            return mean_weights
        gram = scaled_gram(gram_matrix(grads))
        toward_mean = tf.linalg.matvec(gram, mean_weights)  # g_t . g0
        radius = self.c * tf.sqrt(tf.maximum(tf.tensordot(mean_weights, toward_mean, 1), 0.0))  # c |g0|
        # Tasks without a gradient (no labels in the batch) would pin the worst case at 0: keep them out.
        empty = tf.linalg.diag_part(gram) <= 0.0
        penalty = tf.where(empty, tf.constant(EMPTY_TASK_PENALTY, tf.float64), tf.constant(0.0, tf.float64))
        # The best worst case t lies between min_t g_t . g0 (at d = g0) and min_t (g_t . g0 + c |g0| |g_t|).
        norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
        huge = tf.constant(1e300, tf.float64)
        low = tf.reduce_min(tf.where(empty, huge, toward_mean))
        high = tf.reduce_min(tf.where(empty, huge, toward_mean + radius * norms))
        high = tf.maximum(high, low)
        for _ in range(SEARCH_ROUNDS):
            levels = low + (high - low) * tf.linspace(tf.constant(0.0, tf.float64), 1.0, SEARCH_POINTS)
            # Projection of g0 onto {d : g_t . d >= level}: d = g0 + sum_t x_t g_t.
            extra = quadratic_program(gram, toward_mean[None] - levels[:, None] + penalty[None], simplex=False)
            distances = tf.sqrt(tf.maximum(tf.reduce_sum(tf.matmul(extra, gram) * extra, axis=-1), 0.0))
            above = tf.minimum(tf.reduce_sum(tf.cast(distances < radius, tf.int32)), SEARCH_POINTS - 1)
            below = tf.maximum(above - 1, 0)
            low, high = levels[below], levels[above]
        fraction = tf.math.divide_no_nan(radius - distances[below], distances[above] - distances[below])
        fraction = tf.clip_by_value(fraction, 0.0, 1.0)
        extra = (1.0 - fraction) * extra[below] + fraction * extra[above]
        weights = mean_weights + extra
        return tf.where(empty, tf.zeros_like(weights), weights) / (1.0 + self.c**2)

    def get_config(self) -> dict:
        return {**super().get_config(), "c": self.c}
