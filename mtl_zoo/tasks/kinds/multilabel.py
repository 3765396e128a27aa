"""The `multilabel` kind: any subset of `classes` labels, one sigmoid per label.

Labels are float32 0/1 vectors of shape `(batch, classes)`, NaN = a missing
entry (the other entries of that example still train).

Example:

>>> from mtl_zoo.tasks.task import Task
>>> Task("genres", "multilabel", classes=7).units
7
"""

from __future__ import annotations

from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.tasks.kinds.binary import PROBABILITY_LOSSES, PROBABILITY_METRICS
from mtl_zoo.registry import TASK_KINDS

MULTILABEL = TASK_KINDS.register("multilabel", TaskKind(
    "multilabel",
    "Any subset of `classes` labels; labels are 0/1 vectors (NaN = missing entry).",
    activation="sigmoid",
    default_loss="binary_crossentropy",
    default_metrics=("accuracy", "auc"),
    losses=PROBABILITY_LOSSES,
    metrics=PROBABILITY_METRICS,
    label_dtype="float32",
    missing_value="nan",
    elementwise=True,
    label_rule="unit_interval",
    label_classes=True,
))
