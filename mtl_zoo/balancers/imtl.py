"""IMTL-G: the direction with equal projections onto every task's unit gradient.

Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang, "Towards Impartial
Multi-task Learning", ICLR 2021, https://openreview.net/forum?id=IMPnRXEWpvr.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.imtl import IMTLG
>>> direction = IMTLG().aggregate(tf.constant([[1.0, 0.0], [0.0, 3.0]]))
>>> [round(float(value), 4) for value in direction]  # projections 0.75 onto (1, 0) and (0, 1)
[0.75, 0.75]
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import compiled, scaled_gram
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS

# Singular values of the condition matrix below this fraction of the largest are
# treated as 0 (float32 gradients resolve directions no finer).
CUTOFF = 1e-7


@BALANCERS.register("imtl")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class IMTLG(GradientWeighting):
    """Impartial multi-task learning, gradient part (IMTL-G).

    Finds weights `a` summing to 1 such that `d = sum_t a_t g_t` has the same
    projection onto every unit task gradient `u_t = g_t / |g_t|`
    (`d . u_1 = d . u_t` for all t): no task is favoured, whatever the
    gradients' norms. The paper's closed form is a `(K - 1) x (K - 1)`
    linear solve; here it is written on the Gram matrix and solved by
    pseudo-inverse, so identical gradients give equal weights. Tasks without
    a gradient on a step (no labels in the batch) get weight 0. The loss
    scaling part of IMTL (IMTL-L) is a loss-weighting method and not part
    of this balancer.

    Args: `task_gradients` and `rep_grad` of `GradientWeighting`, and Keras
    layer arguments.
    """

    def gram_weights(self, gram):
        return impartial_weights(gram)


@compiled
def impartial_weights(gram):
    """IMTL-G's weights (summing to 1) from the Gram matrix `[K, K]`; 0 for tasks without a gradient."""
    num_tasks = tf.shape(gram)[0]
    gram = scaled_gram(gram)
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
    present = norms > 0.0
    reference = tf.argmax(norms)  # a task with a gradient, if any
    # projections[s, t] = g_s . u_t
    projections = gram / tf.where(present, norms, 1.0)[None, :]
    # Row t (t != reference, t present): a . (projections[:, t] - projections[:, reference]) = 0;
    # row t (absent): a_t = 0; row reference: sum_t a_t = 1.
    differences = tf.transpose(projections - tf.gather(projections, reference, axis=1)[:, None])
    rows = tf.where(present[:, None], differences, tf.eye(num_tasks, dtype=tf.float64))
    is_reference = tf.range(num_tasks, dtype=reference.dtype) == reference
    rows = tf.where(is_reference[:, None], tf.cast(present, tf.float64)[None, :], rows)
    weights = tf.linalg.matvec(tf.linalg.pinv(rows, rcond=CUTOFF), tf.cast(is_reference, tf.float64))
    return tf.where(present, weights, 0.0)
