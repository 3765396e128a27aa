"""`LossWeighted`: one backward pass of the balanced objective (loss-weighting balancers)."""

from __future__ import annotations

import tensorflow as tf

from mtl_zoo.models.reduction import replica_share
from mtl_zoo.models.update_rules.base import UpdateRule


class LossWeighted(UpdateRule):
    """Differentiates the weighted sum of the task losses (plus auxiliary terms) once."""

    def train_step(self, model, data) -> dict:
        with tf.GradientTape() as tape:
            step = model._forward(data, training=True)
            scaled = model.optimizer.scale_loss(replica_share(step.objective + step.extra_loss))
        variables = model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        model.optimizer.apply(gradients, variables)
        return model._update_metrics(step)
