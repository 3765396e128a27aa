"""Dynamic weight average: weights from how fast each task's loss fell over the last epochs.

Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention",
CVPR 2019, https://arxiv.org/abs/1803.10704.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.balancers.dwa import DynamicWeightAverage
>>> balancer = DynamicWeightAverage(temperature=2.0)
>>> balancer.build_for_tasks([Task("a", "regression"), Task("b", "regression")])
>>> balancer.on_epoch_end(0, {"a_loss": 1.0, "b_loss": 1.0})
>>> balancer.on_epoch_end(1, {"a_loss": 0.5, "b_loss": 1.0})  # b stalls: it gets more weight
>>> [round(float(w), 3) for w in balancer.loss_weights.numpy()]
[0.876, 1.124]
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

from mtl_zoo.balancers.base import Balancer
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("dwa")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class DynamicWeightAverage(Balancer):
    """Weights `K * softmax(r / T)`, with `r_t` task t's loss ratio over the last two epochs.

    After epoch `e` ends (`on_epoch_end`, from the epoch's logged training
    losses `{task}_loss`), the weights used during epoch `e + 1` are

        w_t = K * exp(r_t / T) / sum_i exp(r_i / T),   r_t = L_t(e) / L_t(e - 1),

    where `L_t(e)` is task t's mean training loss over epoch `e`: a task whose
    loss falls more slowly gets more weight. The first two epochs use weight
    1 for every task. The objective is `sum_t w_t * loss_weight_t * L_t`. The
    last two epochs' losses and the current weights are variables, saved with
    the model, so a reloaded model continues with them.

    Args:
        temperature: float. Softmax temperature `T` > 0; larger values give
            more even weights. Defaults to 2.0 (the paper's value).
        **kwargs: Keras layer arguments.
    """

    def __init__(self, temperature: float = 2.0, **kwargs):
        kwargs.setdefault("name", "dwa")  # one variable path for every instance
        super().__init__(**kwargs)
        if (not isinstance(temperature, numbers.Real) or isinstance(temperature, bool)
                or not math.isfinite(temperature) or temperature <= 0):
            raise OptionError(
                "temperature",
                f"DWA needs a finite temperature > 0. Received: temperature={temperature!r}",
            )
        self.temperature = float(temperature)

    def build_for_tasks(self, tasks) -> None:
        if getattr(self, "loss_weights", None) is None:
            state = dict(trainable=False, aggregation="only_first_replica")
            num_tasks = len(tasks)
            self.loss_weights = self.add_weight(shape=(num_tasks,), initializer="ones", name="loss_weights", **state)
            self.epoch_losses = self.add_weight(shape=(2, num_tasks), initializer="zeros", name="epoch_losses", **state)
            self.num_epochs = self.add_weight(shape=(), initializer="zeros", dtype="int64", name="num_epochs", **state)
        super().build_for_tasks(tasks)

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        losses = ops.stack([task.loss_weight * ops.cast(task_losses[task.name], "float32") for task in self.tasks])
        return ops.sum(ops.stop_gradient(ops.convert_to_tensor(self.loss_weights)) * losses)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        missing = [f"{name}_loss" for name in self.task_names if f"{name}_loss" not in logs]
        if missing:
            raise ValueError(
                f"DWA needs each task's epoch loss in the logs; {missing} are missing. "
                f"Received: logs keys {sorted(logs)}"
            )
        latest = np.array([float(logs[f"{name}_loss"]) for name in self.task_names], "float32")
        previous = np.asarray(self.epoch_losses.numpy()[1])
        self.epoch_losses.assign(np.stack([previous, latest]))
        self.num_epochs.assign(int(self.num_epochs.numpy()) + 1)
        if int(self.num_epochs.numpy()) >= 2:
            ratios = latest / np.maximum(previous, 1e-12)
            logits = ratios / self.temperature
            exponentials = np.exp(logits - logits.max())
            self.loss_weights.assign(len(self.tasks) * exponentials / exponentials.sum())

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature}
