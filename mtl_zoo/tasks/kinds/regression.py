"""The `regression` kind: real values with `classes` linear output units.

Labels are float32 of shape `(batch, classes)` (or `(batch,)` for one unit),
NaN = missing.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> Task("price", "regression").loss
'mean_squared_error'
"""

from __future__ import annotations

from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.registry import TASK_KINDS

REGRESSION_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
                     "mean_absolute_percentage_error", "mean_squared_logarithmic_error")

REGRESSION = TASK_KINDS.register("regression", TaskKind(
    "regression",
    "Real values with `classes` output units; labels are floats (NaN = missing).",
    activation="linear",
    default_loss="mean_squared_error",
    default_metrics=("mae",),
    losses=REGRESSION_LOSSES,
    metrics=("mae", "mse", "rmse", "mean_absolute_percentage_error",
             "mean_squared_logarithmic_error", "log_cosh_error"),
    label_dtype="float32",
    missing_value="nan",
    elementwise=True,
    column="number",
    standardizes_targets=True,
))
