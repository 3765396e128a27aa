"""The `dense_regression` kind: real values per pixel (depth-like maps).

Labels are float32 `(batch, height, width)` (one unit) or
`(batch, height, width, classes)`; NaN marks a pixel without a value, left
out of the loss and the metrics. The head is the per-pixel decoder
(`mtl_zoo.tasks.kinds.decoder`) with `classes` linear units; the output is
`(batch, height, width, classes)`, at the image resolution unless the task
sets `output_size`.

Loss: mean absolute error over observed pixels by default (any regression
loss fits). Metrics: "abs_rel" (mean of |prediction - label| / label over
observed pixels with a positive label, `mtl_zoo.tasks.kinds.dense_metrics.AbsRel`)
and "rmse" (root mean squared error over observed pixels); "mae" and "mse"
fit too.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> task = Task("distance", "dense_regression")
>>> task.loss, task.metrics
('mean_absolute_error', ('abs_rel', 'rmse'))
"""

from __future__ import annotations

import dataclasses

from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.tasks.kinds.regression import REGRESSION_LOSSES
from mtl_zoo.registry import TASK_KINDS


@dataclasses.dataclass(frozen=True)
class DenseRegressionKind(TaskKind):
    """Per-pixel regression through a decoder over the trunk's stages."""

    def check_task(self, task) -> None:
        pass  # takes output_size

    def build_head(self, task, features, feature_maps=None):
        from mtl_zoo.tasks.kinds.decoder import build_decoder

        return build_decoder(task, features, feature_maps, self.activation)

    def make_metric(self, task, metric: str, name: str):
        if metric == "abs_rel":
            from mtl_zoo.tasks.kinds.dense_metrics import AbsRel

            return AbsRel(name=name)
        return None


DENSE_REGRESSION = TASK_KINDS.register("dense_regression", DenseRegressionKind(
    "dense_regression",
    "Real values per pixel; labels are (batch, height, width) floats (NaN = missing).",
    activation="linear",
    default_loss="mean_absolute_error",
    default_metrics=("abs_rel", "rmse"),
    losses=REGRESSION_LOSSES,
    metrics=("abs_rel", "rmse", "mae", "mse"),
    label_dtype="float32",
    missing_value="nan",
    elementwise=True,
    own_metrics=("abs_rel",),
    uses_feature_maps=True,
))
