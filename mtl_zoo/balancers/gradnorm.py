"""GradNorm: learned task weights that equalize the tasks' gradient norms at matching training rates.

Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for
Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018,
https://arxiv.org/abs/1711.02257.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.balancers.gradnorm import GradNorm
>>> balancer = GradNorm(alpha=1.5)
>>> balancer.build_for_tasks([Task("a", "regression"), Task("b", "regression")])
>>> _ = balancer.combine({"a": 1.0, "b": 1.0}, training=True)
>>> balancer.aggregate(tf.constant([[3.0, 0.0], [0.0, 1.0]])).numpy().tolist()  # weights start at 1
[3.0, 1.0]
>>> [round(float(w), 3) for w in balancer.loss_weights.numpy()]  # the larger gradient's weight goes down
[0.975, 1.025]
"""

from __future__ import annotations

import math
import numbers

import keras
import tensorflow as tf

from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS

MINIMUM_WEIGHT = 1e-3  # weights are kept above this before they are renormalized


@BALANCERS.register("gradnorm")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class GradNorm(GradientWeighting):
    """The update is `sum_t w_t g_t`; the weights `w` move to balance `||w_t g_t||`.

    `g_t` is task t's gradient (of `loss_weight_t * L_t`) with respect to
    the shared variables. Each training step uses the current weights `w`
    (starting at 1, summing to K) for the update direction, then takes one
    gradient step on the GradNorm loss

        sum_t | w_t ||g_t|| - mean_i(w_i ||g_i||) * r_t^alpha |,

    with `r_t = (L_t / L_t(0)) / mean_i(L_i / L_i(0))` task t's inverse
    training rate (`L_t(0)`: its loss at the first step where it has
    labels) and the target held constant, as in the paper. The loss is
    divided by `mean_i ||g_i||` so that the fixed `weight_learning_rate`
    does not depend on the scale of the gradients (the paper trains `w`
    with Adam for the same effect); the weights are then floored at 1e-3
    and renormalized to sum to K. A task with no labels in a batch is left
    out of that step's means and keeps its weight.

    The paper computes the norms on the last shared layer only, to save
    backward passes. By default the norms use every task's gradient of all
    shared variables (`aggregate`'s matrix); with `rep_grad=True` they are
    the norms of the gradients with respect to the shared representation
    (the output of the last shared block), as cheap as the paper's choice:
    the norms are the square roots of the diagonal of the Gram matrix, so
    GradNorm is a `GradientWeighting` like MGDA-UB. Weights, first losses
    and the step's losses are saved with the model.

    Args:
        alpha: float >= 0. Strength of the pull towards equal training
            rates; 0 equalizes the gradient norms only. Defaults to 1.5.
        weight_learning_rate: float > 0. Step size of the weight update.
            Defaults to 0.025.
        task_gradients: str. "auto", "vectorized" or "loop" (see
            `GradientBalancer`). Defaults to "auto".
        rep_grad: bool. Norms of the gradients with respect to the shared
            representation (see `GradientWeighting`). Defaults to False.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, alpha: float = 1.5, weight_learning_rate: float = 0.025,
                 task_gradients: str = "auto", rep_grad: bool = False, **kwargs):
        kwargs.setdefault("name", "gradnorm")  # one variable path for every instance
        super().__init__(task_gradients=task_gradients, rep_grad=rep_grad, **kwargs)
        for option, value, minimum in (("alpha", alpha, 0.0), ("weight_learning_rate", weight_learning_rate, None)):
            if (not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value)
                    or (value < minimum if minimum is not None else value <= 0)):
                bound = ">= 0" if minimum is not None else "> 0"
                raise OptionError(option, f"GradNorm needs a finite {option} {bound}. Received: {option}={value!r}")
        self.alpha = float(alpha)
        self.weight_learning_rate = float(weight_learning_rate)

    def build_for_tasks(self, tasks) -> None:
        if getattr(self, "loss_weights", None) is None:
            state = dict(trainable=False, aggregation="only_first_replica")
            vector = dict(shape=(len(tasks),), **state)
            self.loss_weights = self.add_weight(initializer="ones", name="loss_weights", **vector)
            self.applied_weights = self.add_weight(initializer="ones", name="applied_weights", **vector)
            self.first_losses = self.add_weight(initializer="zeros", name="first_losses", **vector)
            self.step_losses = self.add_weight(initializer="zeros", name="step_losses", **vector)
            self.step_present = self.add_weight(initializer="ones", name="step_present", **vector)
        super().build_for_tasks(tasks)

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        losses = tf.stack([task.loss_weight * tf.cast(task_losses[task.name], tf.float32) for task in self.tasks])
        if training:
            present = tf.ones_like(losses) if counts is None else tf.cast(
                tf.stack([tf.cast(counts[name], tf.float32) for name in self.task_names]) > 0, tf.float32)
            observed = tf.stop_gradient(losses)
            first = tf.convert_to_tensor(self.first_losses)
            self.first_losses.assign(tf.where((first > 0) | (present == 0), first, observed))
            self.step_losses.assign(observed)
            self.step_present.assign(present)
        return tf.reduce_sum(tf.stop_gradient(tf.convert_to_tensor(self.loss_weights)) * losses)

    def updated_weights(self, weights, grads, losses, first_losses, present):
        """One GradNorm step: the new `[num_tasks]` weights (a pure function, for tests).

        Args:
            weights: `[num_tasks]` current weights.
            grads: `[num_tasks, dim]` per-task gradients of the shared variables.
            losses: `[num_tasks]` the step's (loss-weighted) task losses.
            first_losses: `[num_tasks]` each task's first loss.
            present: `[num_tasks]` 1 for tasks with labels in the step, else 0.
        """
        return self._weights_after(weights, tf.norm(grads, axis=1), losses, first_losses, present)

    def _weights_after(self, weights, norms, losses, first_losses, present):
        num_present = tf.maximum(tf.reduce_sum(present), 1.0)
        weighted_norms = weights * norms
        mean_norm = tf.reduce_sum(present * weighted_norms) / num_present
        rates = present * losses / tf.where(first_losses > 0, first_losses, 1.0)
        relative_rates = rates / tf.maximum(tf.reduce_sum(rates) / num_present, 1e-12)
        target = mean_norm * tf.pow(relative_rates, self.alpha)
        scale = tf.maximum(tf.reduce_sum(present * norms) / num_present, 1e-12)
        gradient = present * tf.sign(weighted_norms - target) * norms / scale
        stepped = tf.maximum(weights - self.weight_learning_rate * gradient, MINIMUM_WEIGHT)
        return len(self.tasks) * stepped / tf.reduce_sum(stepped)

    def gram_weights(self, gram):
        """Returns the current weights and takes one GradNorm step on them (norms from the Gram diagonal)."""
        norms = tf.cast(tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0)), tf.float32)
        weights = tf.convert_to_tensor(self.loss_weights)
        self.applied_weights.assign(weights)
        self.loss_weights.assign(self._weights_after(
            weights, norms, tf.convert_to_tensor(self.step_losses), tf.convert_to_tensor(self.first_losses),
            tf.convert_to_tensor(self.step_present),
        ))
        return weights

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha, "weight_learning_rate": self.weight_learning_rate}
