"""The `bbox` kind: one box per example, regressed as four numbers in [0, 1].

Labels are float32 `(batch, 4)`: `(y_min, x_min, y_max, x_max)` normalized by
the image height and width, so every coordinate lies in [0, 1]; a box with a
NaN coordinate is a missing box. A box outside [0, 1], or with
`y_min > y_max` or `x_min > x_max`, is invalid (counted and reported, see
`mtl_zoo.tasks.label_checks`). The head is the sentence-level head with four
sigmoid outputs (so predicted coordinates stay in [0, 1]).

Loss: Huber (smooth L1 with delta 1, `keras.losses.Huber`) per coordinate
by default, averaged over the coordinates of observed boxes; on [0, 1]
coordinates every error is below 1, so it is half the squared error, and
"mean_absolute_error" (pure L1), "mean_squared_error" and "log_cosh" fit
too. Metric "iou" (`mtl_zoo.tasks.kinds.box_metrics.BoxIoU`): the intersection
over union of predicted and true box, averaged over observed boxes; "mae"
and "mse" average over their coordinates.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> task = Task("digit_box", "bbox")
>>> task.units, task.loss, task.metrics
(4, 'huber', ('iou',))
"""

from __future__ import annotations

import dataclasses

from mtl_zoo.tasks.kinds.base import LabelSplit, TaskKind
from mtl_zoo.tasks.kinds.regression import REGRESSION_LOSSES
from mtl_zoo.registry import TASK_KINDS


@dataclasses.dataclass(frozen=True)
class BoxKind(TaskKind):
    """Box regression: four sigmoid coordinates, masked per box, scored by IoU."""

    def label_rule_text(self, task) -> str:
        return ("boxes are (y_min, x_min, y_max, x_max) in [0, 1] with y_min <= y_max and x_min <= x_max "
                "(NaN marks a missing box)")

    def split_labels(self, task, labels, predictions) -> LabelSplit:
        from keras import ops

        values = ops.reshape(ops.cast(labels, "float32"), (-1, 4))
        present = ops.all(ops.logical_not(ops.isnan(values)), axis=-1)
        in_range = ops.all(ops.logical_and(ops.greater_equal(values, 0.0), ops.less_equal(values, 1.0)), axis=-1)
        ordered = ops.logical_and(ops.less_equal(values[:, 0], values[:, 2]), ops.less_equal(values[:, 1], values[:, 3]))
        valid = ops.logical_and(in_range, ordered)
        observed = ops.logical_and(present, valid)
        invalid = ops.logical_and(present, ops.logical_not(valid))
        mask = ops.cast(ops.broadcast_to(observed[:, None], ops.shape(values)), "float32")
        return LabelSplit(
            labels=ops.where(mask > 0, values, ops.zeros_like(values)),
            mask=mask,
            num_invalid=ops.sum(ops.cast(invalid, "float32")),
        )

    def metric_inputs(self, task, labels, predictions, weights):
        # One weight per box (its coordinates share it): IoU needs whole boxes.
        return labels, predictions, weights[:, 0]

    def make_metric(self, task, metric: str, name: str):
        if metric == "iou":
            from mtl_zoo.tasks.kinds.box_metrics import BoxIoU

            return BoxIoU(name=name)
        return None


BBOX = TASK_KINDS.register("bbox", BoxKind(
    "bbox",
    "One box per example, (y_min, x_min, y_max, x_max) in [0, 1] (NaN = missing); Huber loss, IoU.",
    activation="sigmoid",
    default_loss="huber",
    default_metrics=("iou",),
    losses=tuple(loss for loss in REGRESSION_LOSSES if loss in ("huber", "mean_squared_error",
                                                                "mean_absolute_error", "log_cosh")),
    metrics=("iou", "mae", "mse"),
    label_dtype="float32",
    missing_value="nan",
    elementwise=True,
    fixed_units=4,
    label_rule="unit_interval",
    own_metrics=("iou",),
))
