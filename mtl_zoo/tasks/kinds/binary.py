"""The `binary` kind: a yes/no outcome, one sigmoid probability per example.

Labels are float32 0/1 (probabilities in [0, 1] fit too) of shape
`(batch,)` or `(batch, 1)`, NaN = missing. "accuracy" is binary accuracy.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> Task("clicked", "binary").metrics
('accuracy', 'auc')
"""

from __future__ import annotations

from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.registry import TASK_KINDS

# Binary and multilabel tasks: one sigmoid probability and one 0/1 label per output unit.
PROBABILITY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy", "mean_squared_error")
PROBABILITY_METRICS = ("accuracy", "auc", "precision", "recall", "binary_accuracy",
                       "binary_crossentropy", "mae", "mse", "rmse")

BINARY = TASK_KINDS.register("binary", TaskKind(
    "binary",
    "A yes/no outcome; labels are 0 or 1 (NaN = missing).",
    activation="sigmoid",
    default_loss="binary_crossentropy",
    default_metrics=("accuracy", "auc"),
    losses=PROBABILITY_LOSSES,
    metrics=PROBABILITY_METRICS,
    label_dtype="float32",
    missing_value="nan",
    elementwise=True,
    fixed_units=1,
    label_rule="unit_interval",
    column="binary",
))
