"""Loss reduction across replicas: per-task means over the *global* batch.

Under `tf.distribute` every replica sees a slice of the global batch. If each
replica took its own mean over its observed labels, a task whose labels sit
unevenly across replicas would get a wrong gradient (a task with all its
labels on one of two replicas would get half of it). Instead each replica
sums its per-label losses, the observed counts are summed across replicas,
and each replica contributes `its sum / global count`; the sum of those
contributions over replicas is the exact global mean, and gradients flow
through the cross-replica sum. Outside a strategy (or with one replica) the
same code reduces to the plain masked mean.

Because Keras sums gradients across replicas, the objective a replica
differentiates is `objective / num_replicas` (`replica_share`).

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.models.reduction import global_masked_shares, global_sum
>>> shares, counts = global_masked_shares(tf.constant([6.0, 0.0]), tf.constant([3.0, 0.0]))
>>> global_sum(shares).numpy().tolist(), counts.numpy().tolist()
([2.0, 0.0], [3.0, 0.0])
"""

from __future__ import annotations

import tensorflow as tf


def _replica_context():
    """The current replica context, or None in a cross-replica context."""
    return tf.distribute.get_replica_context()


def num_replicas() -> int:
    """Number of replicas training in sync (1 outside a strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def global_sum(value):
    """Sums `value` (a tensor or nested structure) over the replicas in sync.

    Differentiable: the gradient of the sum is summed back to every replica.

    Args:
        value: tensor or nest of tensors.
    """
    context = _replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def global_masked_shares(local_totals, local_counts):
    """Returns this replica's shares of the per-task global means, and the global counts.

    A share is `local total / global count`; the shares of all replicas add
    up to the global mean, and so do their gradients. Per-task gradients
    taken of the shares and summed across replicas are exact (this is what
    gradient balancers use).

    Args:
        local_totals: float32 tensor `[num_tasks]`. This replica's sums of
            per-label losses over observed labels (differentiable).
        local_counts: float32 tensor `[num_tasks]`. This replica's numbers
            of observed labels.

    Returns:
        A pair of `[num_tasks]` tensors: the shares and the global counts.
    """
    counts = global_sum(tf.stop_gradient(local_counts))
    return local_totals / tf.maximum(counts, 1.0), counts


def replica_share(objective):
    """The part of a global `objective` one replica differentiates.

    Keras sums gradients over replicas, so each replica takes
    `objective / num_replicas`; the sum over replicas is the gradient of the
    objective.

    Args:
        objective: scalar tensor, identical on every replica.
    """
    objective = tf.convert_to_tensor(objective, dtype_hint=tf.float32)
    return objective / tf.cast(num_replicas(), objective.dtype)
