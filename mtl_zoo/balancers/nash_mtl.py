"""Nash-MTL: the tasks bargain over the update; the Nash solution weights the gradients.

Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya, "Multi-Task
Learning as a Bargaining Game", ICML 2022, https://arxiv.org/abs/2202.01017.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.nash_mtl import NashMTL
>>> grads = tf.constant([[2.0, 0.0], [0.0, 1.0]])
>>> [round(float(w), 4) for w in NashMTL().task_weights(grads)]  # alpha_t = 1 / |g_t|
[0.5, 1.0]
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import RIDGE, compiled
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS

NEWTON_STEPS = 12
# Newton step lengths tried besides the damped one (a fixed-size line search).
STEP_LENGTHS = (0.5, 1.0, 2.0, 4.0, 8.0)


@BALANCERS.register("nash_mtl")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class NashMTL(GradientWeighting):
    """Nash bargaining solution: weights `a > 0` with `(G G^T a)_t = 1 / a_t` for every task t.

    The update `d = sum_t a_t g_t` gives every task the improvement
    `g_t . d = 1 / a_t`: the Nash bargaining solution over the ball of
    updates, invariant to the gradients' scales (`|d|` is about
    `sqrt(num_tasks)`, as in the paper; the reference code also clips the
    update's norm, which here is the optimizer's business). The condition
    is the optimum of the strictly convex `b^T C b / 2 - sum log b` with `C`
    the gradients' cosine matrix and `a_t = b_t / |g_t|`, solved by damped
    Newton steps with a short line search (the paper's code calls a convex
    solver several times per step). Tasks without a gradient on a step get weight 0.

    Args: `task_gradients` and `rep_grad` of `GradientWeighting`, and Keras
    layer arguments.
    """

    def gram_weights(self, gram):
        return bargaining_weights(gram)


@compiled
def bargaining_weights(gram):
    """Weights `a > 0` with `(gram a)_t = 1 / a_t` from the Gram matrix `[K, K]`; 0 for tasks without a gradient."""
    num_tasks = tf.shape(gram)[0]
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
    present = norms > 0.0
    safe_norms = tf.where(present, norms, 1.0)
    both = present[:, None] & present[None, :]
    identity = tf.eye(num_tasks, dtype=tf.float64)
    cosines = tf.where(both, gram / (safe_norms[:, None] * safe_norms[None, :]), identity) + RIDGE * identity
    start = tf.fill([num_tasks], tf.sqrt(tf.cast(num_tasks, tf.float64) / tf.reduce_sum(cosines)))

    def objective(points):  # b^T C b / 2 - sum log b, for each row
        return 0.5 * tf.reduce_sum(tf.matmul(points, cosines) * points, axis=-1) - tf.reduce_sum(
            tf.math.log(points), axis=-1)

    def newton_step(index, b):
        gradient = tf.linalg.matvec(cosines, b) - 1.0 / b
        step = -tf.linalg.solve(cosines + tf.linalg.diag(1.0 / b**2), gradient[:, None])[:, 0]
        decrement = tf.sqrt(tf.maximum(-tf.tensordot(gradient, step, 1), 0.0))
        # The damped step 1 / (1 + decrement) always decreases the objective; longer ones
        # (up to 99% of the way to the boundary) are taken when they decrease it more.
        far = tf.constant(1e300, tf.float64)
        boundary = tf.reduce_min(tf.where(step < 0.0, -b / tf.minimum(step, -1e-300), far))
        damped = 1.0 / (1.0 + decrement)
        lengths = tf.minimum(tf.concat([damped[None], tf.constant(STEP_LENGTHS, tf.float64)], 0), 0.99 * boundary)
        candidates = b[None, :] + lengths[:, None] * step[None, :]
        return index + 1, tf.gather(candidates, tf.argmin(objective(candidates)))

    _, b = tf.while_loop(lambda index, _: index < NEWTON_STEPS, newton_step, (tf.constant(0), start))
    return tf.where(present, b / safe_norms, 0.0)
