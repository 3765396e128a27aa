"""Uncertainty weighting: each task's weight is a learned homoscedastic noise level.

Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
Losses for Scene Geometry and Semantics", CVPR 2018,
https://arxiv.org/abs/1705.07115.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.balancers.uncertainty import UncertaintyWeighting
>>> balancer = UncertaintyWeighting()
>>> balancer.build_for_tasks([Task("a", "regression"), Task("b", "regression")])
>>> _ = balancer.log_variances.assign([0.0, 1.0])
>>> round(float(balancer.combine({"a": 2.0, "b": 3.0})), 4)  # 2 + 0 + 3 / e + 1
4.1036
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_zoo.balancers.base import Balancer
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("uncertainty")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class UncertaintyWeighting(Balancer):
    """Weights each task by exp(-s_t), with s_t a log-variance trained with the model.

    Each task has a trainable log-variance `s_t = log(sigma_t^2)`, starting
    at 0 and trained by the model's optimizer with every other weight. The
    objective is

        sum_t exp(-s_t) * loss_weight_t * L_t + s_t,

    so task t's weight is `exp(-s_t)`, and for a fixed loss the best `s_t` is
    `log(loss_weight_t * L_t)`: a noisier task (larger loss at the optimum)
    ends with a smaller weight. The paper writes a Gaussian (regression)
    task's term as `L / (2 sigma^2) + log(sigma)`, which is half of ours: the
    same optimum `s_t`, and only a constant factor 1/2 on that task's
    gradient, which we drop so every task kind is weighted alike (the
    common simplification of Liebel & Koerner, 2018). A task with no
    observed label in a batch contributes nothing, its `s_t` term included.

    Args:
        **kwargs: Keras layer arguments.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("name", "uncertainty")  # one variable path for every instance
        super().__init__(**kwargs)

    def build_for_tasks(self, tasks) -> None:
        if getattr(self, "log_variances", None) is None:
            self.log_variances = self.add_weight(
                shape=(len(tasks),), initializer="zeros", trainable=True, name="log_variances"
            )
        super().build_for_tasks(tasks)

    def task_weights(self):
        """The current weight `exp(-s_t)` of each task, `[num_tasks]`."""
        return ops.exp(-ops.convert_to_tensor(self.log_variances))

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        losses = ops.stack([task.loss_weight * ops.cast(task_losses[task.name], "float32") for task in self.tasks])
        present = ops.ones_like(losses) if counts is None else ops.cast(
            ops.stack([ops.cast(counts[name], "float32") for name in self.task_names]) > 0, "float32")
        log_variances = ops.convert_to_tensor(self.log_variances)
        return ops.sum(present * (ops.exp(-log_variances) * losses + log_variances))
