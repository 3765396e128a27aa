"""Aligned-MTL: align the task gradients into an orthogonal, equal-norm system, then sum.

Senushkin, Patakin, Kuznetsov & Konushin, "Independent Component Alignment
for Multi-Task Learning", CVPR 2023, https://arxiv.org/abs/2305.19000.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.aligned_mtl import AlignedMTL
>>> direction = AlignedMTL().aggregate(tf.constant([[2.0, 0.0], [0.0, 1.0]]))
>>> [round(float(value), 4) for value in direction]  # rows scaled to the smallest singular value
[1.0, 1.0]
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_math import compiled, gram_matrix, scaled_gram
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS

# Eigenvalues of the scaled Gram matrix below this times the largest one (times
# num_tasks) are treated as 0: float32 gradients resolve no finer.
RANK_TOLERANCE = 1.2e-7


@BALANCERS.register("aligned_mtl")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class AlignedMTL(GradientWeighting):
    """Aligned-MTL: the sum of the task gradients after aligning them.

    With the Gram matrix `G G^T = V diag(lambda) V^T`, the aligned gradients
    `B G` with `B = sqrt(lambda_min) V diag(lambda^-1/2) V^T` are orthogonal
    and all of norm `sqrt(lambda_min)` (their Gram matrix is
    `lambda_min I`: condition number 1, the paper's aim); if `G = U S W^T`,
    `B G = s_min U W^T`, the closest such system to `G`. The direction is
    their sum, so the weights are the column sums of `B`. Directions the
    gradients do not span (eigenvalues ~0, e.g. identical or missing task
    gradients) are left out, as in the paper's code.

    Args: `task_gradients` and `rep_grad` of `GradientWeighting`, and Keras
    layer arguments.
    """

    def alignment(self, grads):
        """Returns `B`, float64 `[num_tasks, num_tasks]`: the aligned gradients are `B @ grads`.

        Args:
            grads: float32 tensor `[num_tasks, dim]`.
        """
        return alignment_matrix(gram_matrix(grads))

    def gram_weights(self, gram):
        return tf.reduce_sum(alignment_matrix(gram), axis=0)


@compiled
def alignment_matrix(gram):
    """`B = sqrt(lambda_min) V diag(lambda^-1/2) V^T` from the Gram matrix `[K, K]` (~0 eigenvalues left out)."""
    eigenvalues, vectors = tf.linalg.eigh(scaled_gram(gram))
    largest = tf.reduce_max(eigenvalues)
    kept = eigenvalues > RANK_TOLERANCE * tf.cast(tf.shape(gram)[0], tf.float64) * largest
    smallest = tf.reduce_min(tf.where(kept, eigenvalues, largest))
    inverse_roots = tf.where(kept, tf.math.rsqrt(tf.where(kept, eigenvalues, 1.0)), 0.0)
    return tf.sqrt(tf.maximum(smallest, 0.0)) * tf.matmul(vectors * inverse_roots[None, :], vectors, transpose_b=True)
