"""Missing and invalid labels: split a task's labels into clean values and masks.

A missing label is -1 for class indices and NaN for float labels (binary,
multilabel, regression). An *invalid* label is an observed value the task
cannot have (a class index >= classes, a binary label of 3.0, an infinite
regression target); which values are valid is the task kind's label rule
(`TaskKind.valid_labels`), and how labels line up with outputs (per example,
per output unit, per token, per pixel) is the kind's `split_labels`.
Missing and invalid entries are replaced by a harmless value (0) so no NaN
reaches a loss or a metric, and the observed mask (1.0 observed and valid,
0.0 otherwise) removes them from that task's loss and metrics only. Invalid
entries are also counted, so the model can stop training and name the task
(see `mtl_zoo.tasks.label_checks`); counting instead of asserting keeps the check
alive under XLA, which drops assertion ops.

Example:

>>> import numpy as np
>>> from mtl_zoo.tasks.task import Task
>>> task = Task("price", kind="regression")
>>> split = task.kind_spec.split_labels(task, np.array([1.0, np.nan, np.inf]), np.zeros((3, 1)))
>>> split.mask.numpy().ravel().tolist(), float(split.num_invalid)
([1.0, 0.0, 0.0], 1.0)
"""

from __future__ import annotations

from keras import ops

from mtl_zoo.tasks.kinds.base import LabelSplit
from mtl_zoo.tasks.task import Task

__all__ = ["BAD_LABEL_MESSAGE", "LabelSplit", "broadcast_sample_weight", "invalid_label_message",
           "split_missing"]

BAD_LABEL_MESSAGE = "has a label that cannot belong to it"


def invalid_label_message(task: Task) -> str:
    """The one-line explanation for labels that `task` cannot have."""
    return f"Task {task.name} {BAD_LABEL_MESSAGE}: {task.kind_spec.label_rule_text(task)}"


def split_missing(task: Task, labels, predictions):
    """Returns `(clean_labels, mask)`: the kind's `split_labels` without the invalid count.

    Args:
        task: `Task`. The task the labels belong to.
        labels: tensor. The task's labels (missing entries allowed).
        predictions: tensor. The task's outputs, used for the target shape.
    """
    split = task.kind_spec.split_labels(task, labels, predictions)
    return split.labels, split.mask


def broadcast_sample_weight(sample_weight, mask):
    """Multiplies `mask` by `sample_weight`, if any.

    Args:
        sample_weight: tensor or None. Per-example weights of shape
            `(batch,)` or `(batch, 1)`, or per-element weights shaped like
            `mask` (e.g. `(batch, units)` for elementwise kinds).
        mask: float32 tensor. The observed mask from the kind's `split_labels`.
    """
    if sample_weight is None:
        return mask
    weight = ops.cast(sample_weight, "float32")
    if len(weight.shape) == len(mask.shape) and len(mask.shape) > 1 and weight.shape[-1] != 1:
        return mask * weight
    weight = ops.reshape(weight, (-1,) + (1,) * (len(mask.shape) - 1))
    return mask * weight
