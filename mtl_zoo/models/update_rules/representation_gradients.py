"""`RepresentationGradients`: task weights from the gradients at the shared representation (`rep_grad`)."""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from mtl_zoo.balancers.gradient_math import gram_matrix
from mtl_zoo.balancers.task_gradients import RepresentationSplit, task_gradient_matrix
from mtl_zoo.models.reduction import global_sum, replica_share
from mtl_zoo.models.update_rules.base import UpdateRule


class RepresentationGradients(UpdateRule):
    """One step of a gradient balancer with `rep_grad`: task weights from representation gradients.

    Each task's gradient with respect to the shared representation (of this
    replica's share of its weighted loss, `[batch, ...]` per task) gives this
    replica's part of their Gram matrix; summed over replicas, it gives the
    balancer's task weights `w`. The layers before the representation follow
    `sum_t w_t grad L_t` (one backward pass from the representation, seeded
    with `sum_t w_t dL_t/dz`); the layers after it follow each task's own
    gradient, as without `rep_grad` (Sener & Koltun 2018, Algorithm 2).

    Args:
        split: `RepresentationSplit`. The network's encoder (up to the shared
            representation) and decoder (from it to the outputs).
    """

    def __init__(self, split: RepresentationSplit):
        self.split = split

    def train_step(self, model, data) -> dict:
        split = self.split
        state = {}

        def predict(features):
            state["representation"] = split.encoder(features, training=True)
            return split.decoder(state["representation"], training=True)

        with tf.GradientTape(persistent=True) as tape:
            step = model._forward(data, training=True, predict=predict)
            scale = self.loss_scale(model)
            weighted_shares = [share * scale for share in step.losses.separate_shares(model._loss_weights)]
            after_objective = ops.sum(ops.stack(weighted_shares)) + replica_share(step.extra_loss) * scale
        representation = state["representation"]
        rows = task_gradient_matrix(tape, weighted_shares, [representation],
                                    method=model.balancer.task_gradient_method)
        # Weights from the true (unscaled) gradients; the seed keeps the scale, which the optimizer removes.
        weights = model.balancer.representation_weights(global_sum(gram_matrix(rows / scale)))
        step.task_weights = weights
        seed = tf.reshape(tf.linalg.matvec(rows, weights, transpose_a=True), tf.shape(representation))
        before = split.encoder.trainable_variables
        known = {id(variable) for variable in before}
        after = [variable for variable in model.trainable_variables if id(variable) not in known]
        gradients = tape.gradient(representation, before, output_gradients=tf.cast(seed, representation.dtype))
        if model.losses:
            extra = tape.gradient(replica_share(step.extra_loss) * scale, before)
            gradients = [e if g is None else g if e is None else g + e for g, e in zip(gradients, extra)]
        gradients += tape.gradient(after_objective, after)
        del tape
        self.apply(model, gradients, before + after)
        return model._update_metrics(step)
