"""FAMO: task weights that balance the rate at which every task's log-loss falls, O(1) per step.

Liu, Liu, Jin, Stone & Liu, "FAMO: Fast Adaptive Multitask Optimization",
NeurIPS 2023, https://arxiv.org/abs/2306.03792.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.balancers.famo import FAMO
>>> balancer = FAMO()
>>> balancer.build_for_tasks([Task("a", "regression"), Task("b", "regression")])
>>> _ = balancer.combine({"a": 1.0, "b": 1.0}, training=True)
>>> _ = balancer.combine({"a": 0.5, "b": 1.0}, training=True)  # a improved: its logit goes down
>>> bool(balancer.logits.numpy()[0] < 0 < balancer.logits.numpy()[1])
True
"""

from __future__ import annotations

import math
import numbers

import keras
import tensorflow as tf

from mtl_zoo.balancers.base import Balancer
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS

EPSILON = 1e-8  # added to each loss before its log, as in the paper's code
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8


@BALANCERS.register("famo")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class FAMO(Balancer):
    """Weights from logits `xi` learned so that all task losses fall at the same relative rate.

    With `z = softmax(xi)` and `D_t = loss_weight_t * L_t + 1e-8`, the model
    follows the gradient of `sum_t z_t log(D_t) / c`, `c = sum_t z_t / D_t`:
    task t's weight is `w_t = (z_t / D_t) / sum_i (z_i / D_i)` (the weights
    sum to 1). The objective returned is `sum_t w_t * loss_weight_t * L_t`
    with `w` held constant: the same gradient, and a logged loss on the scale
    of the task losses (the paper's log form can be negative).

    The logits learn from how much each task's log-loss fell over the last
    update, `delta_t = log D_t(before) - log D_t(after)`: the paper's code
    takes one Adam step (learning rate `logit_learning_rate`, L2 decay
    `logit_decay`, as `torch.optim.Adam(weight_decay=...)`) on `xi` along
    `J_softmax(xi)^T delta`. It measures "after" with a second forward pass
    on the same batch; here, to stay O(1) (no extra pass), step n's losses
    serve as "after" for step n - 1, so the logits are updated at the start
    of step n (before its weights are computed) from the previous batch's
    losses and this batch's: a one-step lag, and a loss change measured
    across two batches. The first step only records its losses. A task with
    no observed label in a batch gets weight 0 there and no logit update
    from the two steps involved. The paper's optional gradient clipping is
    the optimizer's `clipnorm`, not part of the weighting.

    State (logits, Adam moments, previous losses, step count) is saved with
    the model and advances only on training steps.

    Args:
        logit_learning_rate: float. Adam learning rate of the logits.
            Defaults to 0.025 (the paper's code).
        logit_decay: float. L2 decay of the logits, pulling the weights
            towards equal. Defaults to 0.01 (the paper's code).
        **kwargs: Keras layer arguments.
    """

    def __init__(self, logit_learning_rate: float = 0.025, logit_decay: float = 0.01, **kwargs):
        kwargs.setdefault("name", "famo")  # one variable path for every instance
        super().__init__(**kwargs)
        for option, value in (("logit_learning_rate", logit_learning_rate), ("logit_decay", logit_decay)):
            if (not isinstance(value, numbers.Real) or isinstance(value, bool)
                    or not math.isfinite(value) or value < 0):
                raise OptionError(option, f"FAMO needs a finite {option} >= 0. Received: {option}={value!r}")
        self.logit_learning_rate = float(logit_learning_rate)
        self.logit_decay = float(logit_decay)

    def build_for_tasks(self, tasks) -> None:
        if getattr(self, "logits", None) is None:
            state = dict(trainable=False, aggregation="only_first_replica")
            vector = dict(shape=(len(tasks),), initializer="zeros", **state)
            self.logits = self.add_weight(name="logits", **vector)
            self.first_moments = self.add_weight(name="first_moments", **vector)
            self.second_moments = self.add_weight(name="second_moments", **vector)
            self.previous_losses = self.add_weight(name="previous_losses", **vector)
            self.previous_present = self.add_weight(name="previous_present", **vector)
            self.num_steps = self.add_weight(shape=(), initializer="zeros", dtype="int64", name="num_steps", **state)
        super().build_for_tasks(tasks)

    def _update_logits(self, losses, present):
        """One Adam step of the logits from the previous step's losses to `losses` (if any)."""
        steps = tf.convert_to_tensor(self.num_steps)
        logits = tf.convert_to_tensor(self.logits)
        both = present * tf.convert_to_tensor(self.previous_present)
        delta = both * (tf.math.log(tf.convert_to_tensor(self.previous_losses) + EPSILON)
                        - tf.math.log(losses + EPSILON))
        z = tf.nn.softmax(logits)
        gradient = z * (delta - tf.reduce_sum(z * delta)) + self.logit_decay * logits
        beta_1, beta_2 = ADAM_BETAS
        first = beta_1 * tf.convert_to_tensor(self.first_moments) + (1.0 - beta_1) * gradient
        second = beta_2 * tf.convert_to_tensor(self.second_moments) + (1.0 - beta_2) * tf.square(gradient)
        t = tf.cast(tf.maximum(steps, 1), tf.float32)
        first_hat = first / (1.0 - beta_1**t)
        second_hat = second / (1.0 - beta_2**t)
        updated = logits - self.logit_learning_rate * first_hat / (tf.sqrt(second_hat) + ADAM_EPSILON)
        has_previous = steps > 0
        self.logits.assign(tf.where(has_previous, updated, logits))
        self.first_moments.assign(tf.where(has_previous, first, tf.convert_to_tensor(self.first_moments)))
        self.second_moments.assign(tf.where(has_previous, second, tf.convert_to_tensor(self.second_moments)))
        self.previous_losses.assign(losses)
        self.previous_present.assign(present)
        self.num_steps.assign_add(1)

    def task_weights(self, losses, present):
        """The weights `w_t` for the `[num_tasks]` (loss-weighted) losses; 0 for absent tasks."""
        scores = present * tf.nn.softmax(tf.convert_to_tensor(self.logits)) / (losses + EPSILON)
        return scores / tf.maximum(tf.reduce_sum(scores), 1e-30)

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        losses = tf.stack([task.loss_weight * tf.cast(task_losses[task.name], tf.float32) for task in self.tasks])
        present = tf.ones_like(losses) if counts is None else tf.cast(
            tf.stack([tf.cast(counts[name], tf.float32) for name in self.task_names]) > 0, tf.float32)
        observed = tf.stop_gradient(losses)
        if training:
            self._update_logits(observed, present)
        return tf.reduce_sum(tf.stop_gradient(self.task_weights(observed, present)) * losses)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "logit_learning_rate": self.logit_learning_rate,
            "logit_decay": self.logit_decay,
        }
