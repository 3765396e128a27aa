"""CAGrad: the best worst-case improvement within a ball around the mean gradient.

Liu, Liu, Jin, Stone & Liu, "Conflict-Averse Gradient Descent for
Multi-task Learning", NeurIPS 2021, https://arxiv.org/abs/2110.14048.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.cagrad import CAGrad
>>> direction = CAGrad(c=0.0).aggregate(tf.constant([[1.0, 0.0], [0.0, 3.0]]))
>>> [round(float(value), 4) for value in direction]  # c = 0: the mean gradient
[0.5, 1.5]
"""

from __future__ import annotations

import numbers
from typing import Literal

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import compiled, quadratic_program, scaled_gram
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS

# The penalty nu of the solution is bracketed on a grid of this many points over this many
# decades, then on a grid as fine within the bracket.
SEARCH_ROUNDS = 2
SEARCH_POINTS = 24
SEARCH_DECADES = 9.0
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
    minimizing `g_w . g0 + c |g0| |g_w|`) with scipy; here the ball
    constraint becomes a penalty whose size is bracketed on a grid, each
    point a small quadratic program on the Gram matrix (solved together),
    and the crossing is then solved exactly (see
    `conflict_averse_weights`).
    Tasks without a gradient on a step (no labels in the batch) are left
    out of the worst case.

    Args:
        c: float. Radius of the ball around the mean gradient, relative to
            its norm; 0 <= c < 1 (with c >= 1 the ball holds the zero update,
            and the paper's convergence guarantee is lost). Defaults to 0.4.
        task_gradients: str. "auto", "vectorized" or "loop" (see
            `GradientBalancer`). Defaults to "auto".
        rep_grad: bool. Weigh the tasks by their gradients with respect to
            the shared representation (see `GradientWeighting`). Defaults
            to False.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, c: float = 0.4, task_gradients: Literal["auto", "vectorized", "loop"] = "auto",
                 rep_grad: bool = False, **kwargs):
        super().__init__(task_gradients=task_gradients, rep_grad=rep_grad, **kwargs)
        if not isinstance(c, numbers.Real) or isinstance(c, bool) or not 0.0 <= c < 1.0:
            raise OptionError(
                "c", f"CAGrad needs a radius 0 <= c < 1 (the paper's convergence condition). Received: c={c!r}"
            )
        self.c = float(c)

    def gram_weights(self, gram):
        if self.c == 0.0:
            return tf.fill([gram.shape[0]], tf.constant(1.0 / gram.shape[0], tf.float64))
        return conflict_averse_weights(gram, self.c) / (1.0 + self.c**2)

    def get_config(self) -> dict:
        return {**super().get_config(), "c": self.c}


@compiled
def conflict_averse_weights(gram, c: float):
    """CAGrad's weights (before the `1 / (1 + c^2)` rescaling) from the Gram matrix `[K, K]`.

    With the ball constraint turned into a penalty `|d - g0|^2 / (2 nu)`,
    the best worst case is `d = g0 + nu g_w` where `w` minimizes
    `g_w . g0 / nu + |g_w|^2 / 2` on the simplex: a small quadratic
    program, solved for a grid of `nu` at once. `|d - g0| = nu |g_w|` grows
    with `nu` (up to where the tiny ridge of the program matters), and the
    solution is the first `nu` where it reaches `c |g0|`.
    Between two grid points with the same active constraints `w` is affine
    in `1 / nu`, so the crossing is found exactly by a quadratic equation.
    """
    num_tasks = tf.shape(gram)[0]
    gram = scaled_gram(gram)
    mean_weights = tf.ones([num_tasks], tf.float64) / tf.cast(num_tasks, tf.float64)
    toward_mean = tf.linalg.matvec(gram, mean_weights)  # g_t . g0
    radius = c * tf.sqrt(tf.maximum(tf.tensordot(mean_weights, toward_mean, 1), 0.0))  # c |g0|
    # Tasks without a gradient (no labels in the batch) would pin the worst case at 0: keep them out.
    empty = tf.linalg.diag_part(gram) <= 0.0
    penalty = tf.where(empty, tf.constant(EMPTY_TASK_PENALTY, tf.float64), tf.constant(0.0, tf.float64))
    # On the scaled Gram matrix |g_w| <= max |g_t| <= sqrt(K), so nu = c |g0| / |g_w| >= c |g0| / sqrt(K).
    # A zero mean gradient (all zero, or gradients that cancel) leaves nothing to move: d = g0 = 0.
    no_mean = radius <= 0.0
    safe_radius = tf.where(no_mean, tf.ones_like(radius), radius)
    low = tf.math.log(safe_radius / tf.sqrt(tf.cast(num_tasks, tf.float64)))
    high = low + SEARCH_DECADES * tf.math.log(tf.constant(10.0, tf.float64))
    for _ in range(SEARCH_ROUNDS):  # a coarse grid of nu, then a fine one inside the bracket found
        nus = tf.exp(tf.linspace(low, high, SEARCH_POINTS))
        weights = quadratic_program(gram, (toward_mean + penalty)[None] / nus[:, None], simplex=True)
        norms = tf.sqrt(tf.maximum(tf.reduce_sum(tf.matmul(weights, gram) * weights, axis=-1), 0.0))
        reached = nus * norms >= safe_radius
        first = tf.where(tf.reduce_any(reached), tf.argmax(tf.cast(reached, tf.int32), output_type=tf.int32),
                         SEARCH_POINTS - 1)
        above = tf.clip_by_value(first, 1, SEARCH_POINTS - 1)
        # tf.gather, not nus[above]: XLA compiles a slice at a computed index only for known values.
        nu_below, nu_above = tf.gather(nus, above - 1), tf.gather(nus, above)
        low, high = tf.math.log(nu_below), tf.math.log(nu_above)
    # w = fixed + slope / nu between the two grid points; d - g0 = nu g_fixed + g_slope.
    weights_below, weights_above = tf.gather(weights, above - 1), tf.gather(weights, above)
    inverse_step = 1.0 / nu_below - 1.0 / nu_above
    slope = tf.math.divide_no_nan(weights_below - weights_above, inverse_step)
    fixed = weights_above - slope / nu_above
    # |nu g_fixed + g_slope|^2 = radius^2: a nu^2 + 2 b nu + e = 0, the root in the bracket.
    a = tf.tensordot(fixed, tf.linalg.matvec(gram, fixed), 1)
    b = tf.tensordot(fixed, tf.linalg.matvec(gram, slope), 1)
    e = tf.tensordot(slope, tf.linalg.matvec(gram, slope), 1) - safe_radius**2
    root = (-b + tf.sqrt(tf.maximum(b * b - a * e, 0.0))) / tf.where(a > 0.0, a, tf.ones_like(a))
    nu = tf.clip_by_value(tf.where(a > 0.0, root, nu_above), nu_below, nu_above)
    combined = tf.where(no_mean, mean_weights, mean_weights + nu * fixed + slope)
    return tf.where(empty, tf.zeros_like(combined), combined)
