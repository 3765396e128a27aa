"""`TaskGradients`: shared variables follow the balancer's aggregate of the per-task gradients."""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from mtl_zoo.balancers.task_gradients import split_direction, task_gradient_matrix
from mtl_zoo.models.reduction import global_sum, replica_share
from mtl_zoo.models.update_rules.base import UpdateRule


class TaskGradients(UpdateRule):
    """One step of a gradient balancer: shared variables follow `balancer.aggregate`.

    Per-task gradients of the shared variables are taken of this replica's
    shares of the task losses and summed over replicas, so the balancer sees
    the global per-task gradients; every private variable gets its own task's
    gradient (plus any auxiliary terms). A network without shared variables
    trains each task on its own gradient.
    """

    def prepare(self, model) -> None:
        model.variable_tasks  # noqa: B018  (computed eagerly, before tracing)

    def train_step(self, model, data) -> dict:
        balancer = model.balancer
        shared, private = model.shared_variables, model.private_variables
        with tf.GradientTape(persistent=True) as tape:
            step = model._forward(data, training=True)
            scale = self.loss_scale(model)
            weighted_shares = [share * scale for share in step.losses.separate_shares(model._loss_weights)]
            private_objective = ops.sum(ops.stack(weighted_shares)) + replica_share(step.extra_loss) * scale
        if shared:
            matrix = global_sum(
                task_gradient_matrix(tape, weighted_shares, shared, method=balancer.task_gradient_method)
            ) / scale  # the balancer sees the true per-task gradients
            direction = balancer.aggregate(matrix)
            step.task_weights = balancer.implied_weights(matrix, direction)
            gradients = split_direction(replica_share(direction) * scale, shared)  # the optimizer unscales
            if model.losses:
                extra = tape.gradient(replica_share(step.extra_loss) * scale, shared)
                gradients = [g if e is None else g + e for g, e in zip(gradients, extra)]
        else:  # no variable serves two tasks (e.g. soft sharing): each task's own gradient, nothing to balance
            step.task_weights = model._loss_weights
            gradients = []
        gradients += tape.gradient(private_objective, private)
        del tape
        self.apply(model, gradients, shared + private)
        return model._update_metrics(step)
