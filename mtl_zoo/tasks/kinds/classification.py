"""The `classification` kind: one class out of `classes` per example.

Labels are int32 class indices of shape `(batch,)` (-1 = missing); the head
ends in a softmax over `classes` units. "accuracy" is sparse categorical
accuracy and `top_<k>_accuracy` the sparse top-k accuracy.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> Task("digit", "classification", classes=10).metrics
('accuracy',)
"""

from __future__ import annotations

import dataclasses
import re

from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.registry import TASK_KINDS

TOP_K_ACCURACY = re.compile(r"^top_([1-9][0-9]*)_accuracy$")


@dataclasses.dataclass(frozen=True)
class ClassIndexKind(TaskKind):
    """A kind whose labels are class indices: accuracy and top-k accuracy are categorical."""

    def make_metric(self, task, metric: str, name: str):
        import keras

        if metric in ("accuracy", "acc"):
            return keras.metrics.SparseCategoricalAccuracy(name=name)
        top_k = TOP_K_ACCURACY.match(metric)
        if top_k:
            return keras.metrics.SparseTopKCategoricalAccuracy(k=int(top_k.group(1)), name=name)
        return None


CLASSIFICATION = TASK_KINDS.register("classification", ClassIndexKind(
    "classification",
    "One class out of `classes`; labels are class indices (-1 = missing).",
    activation="softmax",
    default_loss="sparse_categorical_crossentropy",
    default_metrics=("accuracy",),
    losses=("sparse_categorical_crossentropy",),
    metrics=("accuracy", "top_K_accuracy", "sparse_categorical_accuracy",
             "sparse_top_k_categorical_accuracy", "sparse_categorical_crossentropy"),
    label_dtype="int32",
    missing_value="-1",
    elementwise=False,
    label_rule="class_index",
    minimum_classes=2,
    column="class_index",
    label_classes=True,
))


@dataclasses.dataclass(frozen=True)
class PositionClassKind(ClassIndexKind):
    """A kind with one class index per position (token or pixel) instead of per example.

    Labels have the predictions' shape without the class axis, e.g.
    `(batch, tokens)` for `(batch, tokens, classes)` outputs; -1 marks a
    missing label or padding, removed from the loss and the metrics.
    """

    def label_shape(self, predictions):
        from keras import ops

        return tuple(ops.shape(predictions)[:-1])
