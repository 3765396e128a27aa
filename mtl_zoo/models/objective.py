"""The training objective, its per-task weights, and its mean over an epoch.

A balancer turns the per-task losses `m_t` into one objective. Whatever the
balancer, the weight it gives task t on a step is `w_t = d objective / d m_t`
(constant for fixed weights, learned or adaptive for others), and the rest,
`objective - sum_t w_t m_t`, is a term that does not scale with any task loss
(e.g. uncertainty weighting's log-variances). `balanced_objective` returns
both, so weights can be logged without each balancer reporting them.

The logged `loss` of an epoch (`ObjectiveMean`) is `sum_t (sum over steps of
w_t m_t n_t) / (sum over steps of n_t)` plus the mean of the other terms,
where `n_t` counts task t's observed labels. With fixed weights it equals
`sum_t w_t * (task t's mean loss over the epoch)`: the weighted sum of the
logged task losses, the same for any batch size.

Example:

>>> import numpy as np
>>> from mtl_zoo.models.objective import ObjectiveMean
>>> metric = ObjectiveMean(num_tasks=2)
>>> metric.update_state(np.array([1.0, 4.0]), np.array([2.0, 0.5]), np.array([3.0, 1.0]), 0.0)
>>> metric.update_state(np.array([3.0, 0.0]), np.array([2.0, 0.5]), np.array([1.0, 0.0]), 0.0)
>>> round(float(metric.result()), 4)  # 2 * (1*3 + 3*1) / 4 + 0.5 * 4
5.0
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def balanced_objective(balancer, task_names, loss_vector, counts, training: bool):
    """Calls the balancer once; returns the objective and each task's weight in it.

    Args:
        balancer: `Balancer`.
        task_names: list of str, in model order.
        loss_vector: float32 tensor `[num_tasks]`. Per-task losses.
        counts: float32 tensor `[num_tasks]`. Observed labels per task.
        training: bool. Whether this is a training step.

    Returns:
        `(objective, weights)`: a scalar, differentiable with respect to the
        losses, and a `[num_tasks]` tensor `d objective / d loss_t`.
    """
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(loss_vector)
        losses = dict(zip(task_names, tf.unstack(loss_vector)))
        task_counts = dict(zip(task_names, tf.unstack(counts)))
        objective = ops.cast(balancer.combine(losses, counts=task_counts, training=training), "float32")
    weights = tape.gradient(objective, loss_vector, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return objective, tf.stop_gradient(weights)


class ObjectiveMean(keras.metrics.Metric):
    """The epoch's objective: count-weighted per-task terms plus the mean other terms.

    Args:
        num_tasks: int. Number of tasks.
        name: str. Defaults to "loss".
    """

    def __init__(self, num_tasks: int, name="loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_tasks = num_tasks
        vector = dict(shape=(num_tasks,), initializer="zeros", dtype="float32", aggregation="sum")
        self.weighted_totals = self.add_variable(name="weighted_totals", **vector)
        self.counts = self.add_variable(name="counts", **vector)
        scalar = dict(shape=(), initializer="zeros", dtype="float32", aggregation="sum")
        self.other_total = self.add_variable(name="other_total", **scalar)
        self.num_steps = self.add_variable(name="num_steps", **scalar)

    def update_state(self, task_losses, task_weights, counts, other):
        """Adds one step.

        Args:
            task_losses: `[num_tasks]` per-task mean losses of the step.
            task_weights: `[num_tasks]` weights of the losses in the objective.
            counts: `[num_tasks]` observed labels (this replica's, under a
                strategy: the replicas' sums add up).
            other: scalar. Objective terms not proportional to a task loss
                (this replica's share).
        """
        task_losses = ops.cast(task_losses, "float32")
        counts = ops.cast(counts, "float32")
        self.weighted_totals.assign_add(ops.cast(task_weights, "float32") * task_losses * counts)
        self.counts.assign_add(counts)
        self.other_total.assign_add(ops.cast(other, "float32"))
        self.num_steps.assign_add(1.0)

    def result(self):
        per_task = ops.where(
            self.counts > 0, self.weighted_totals / ops.maximum(self.counts, 1.0), 0.0
        )
        return ops.sum(per_task) + self.other_total / ops.maximum(self.num_steps, 1.0)

    def get_config(self):
        return {"num_tasks": self.num_tasks, **super().get_config()}
