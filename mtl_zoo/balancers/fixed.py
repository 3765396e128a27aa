"""Fixed loss weights: the objective is the weighted sum of the task losses.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.balancers.fixed import FixedWeights
>>> balancer = FixedWeights()
>>> balancer.build_for_tasks([Task("a", "regression", loss_weight=2.0), Task("b", "regression")])
>>> float(balancer.combine({"a": 1.0, "b": 3.0}))
5.0
"""

from __future__ import annotations

import math
import numbers
from typing import Dict, Optional

import keras
from keras import ops

from mtl_zoo.balancers.base import Balancer
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("fixed")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class FixedWeights(Balancer):
    """Weighted sum of task losses with constant weights.

    Each task's weight is `weights[task]` if given, else the task's
    `loss_weight`.

    Args:
        weights: dict or None. Task name -> finite weight >= 0, overriding
            the tasks' `loss_weight`; every name must be one of the model's
            tasks. Defaults to None.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, weights: Optional[Dict[str, float]] = None, **kwargs):
        super().__init__(**kwargs)
        self.weights_by_task = dict(weights or {})
        bad = {
            name: weight
            for name, weight in self.weights_by_task.items()
            if not isinstance(weight, numbers.Real) or isinstance(weight, bool)
            or not math.isfinite(weight) or weight < 0
        }
        if bad:
            raise OptionError(
                "weights",
                f"FixedWeights needs finite weights >= 0; {sorted(bad)} have other values. "
                f"Received: weights={self.weights_by_task}",
            )

    def build_for_tasks(self, tasks) -> None:
        unknown = sorted(set(self.weights_by_task) - {task.name for task in tasks})
        if unknown:
            raise OptionError(
                "weights",
                f"FixedWeights got weights for unknown tasks {unknown}; tasks are "
                f"{[task.name for task in tasks]}. Received: weights={self.weights_by_task}",
            )
        super().build_for_tasks(tasks)

    def task_weight(self, task) -> float:
        """The constant weight of `task`."""
        return float(self.weights_by_task.get(task.name, task.loss_weight))

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        return ops.sum(
            ops.stack([self.task_weight(task) * ops.cast(task_losses[task.name], "float32")
                       for task in self.tasks])
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config["weights"] = dict(self.weights_by_task) or None
        return config
