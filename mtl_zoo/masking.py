"""Missing and invalid labels: split a task's labels into clean values and masks.

A missing label is -1 for class indices and NaN for float labels (binary,
multilabel, regression). An *invalid* label is an observed value the task
cannot have (a class index >= classes, a binary label of 3.0, an infinite
regression target); which values are valid is the task kind's `label_rule`.
Missing and invalid entries are replaced by a harmless value (0) so no NaN
reaches a loss or a metric, and the observed mask (1.0 observed and valid,
0.0 otherwise) removes them from that task's loss and metrics only. Invalid
entries are also counted, so the model can stop training and name the task
(see `mtl_zoo.label_checks`); counting instead of asserting keeps the check
alive under XLA, which drops assertion ops.

Example:

>>> import numpy as np
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.masking import split_labels
>>> task = Task("price", kind="regression")
>>> split = split_labels(task, np.array([1.0, np.nan, np.inf]), np.zeros((3, 1)))
>>> split.mask.numpy().ravel().tolist(), float(split.num_invalid)
([1.0, 0.0, 0.0], 1.0)
"""

from __future__ import annotations

import dataclasses

from keras import ops

from mtl_zoo.tasks import Task

BAD_LABEL_MESSAGE = "has a label that cannot belong to it"

_RULE_TEXT = {
    "class_index": "class indices must be below classes={units} (-1 marks a missing label)",
    "unit_interval": "labels must lie in [0, 1] (NaN marks a missing label)",
    "finite": "labels must be finite numbers (NaN marks a missing label)",
}


@dataclasses.dataclass
class LabelSplit:
    """One task's batch of labels, split by `split_labels`.

    Args:
        labels: tensor. Labels with missing and invalid entries set to 0.
        mask: float32 tensor of the same shape; 1.0 where a valid label is
            observed.
        num_invalid: float32 scalar. Number of observed labels the task
            cannot have.
    """

    labels: object
    mask: object
    num_invalid: object


def invalid_label_message(task: Task) -> str:
    """The one-line explanation for labels that `task` cannot have."""
    rule = _RULE_TEXT[task.kind_spec.label_rule].format(units=task.units)
    return f"Task {task.name} {BAD_LABEL_MESSAGE}: {rule}"


def _valid(rule: str, values, units: int):
    if rule == "class_index":
        return ops.less(values, units)
    if rule == "unit_interval":
        return ops.logical_and(ops.greater_equal(values, 0.0), ops.less_equal(values, 1.0))
    return ops.isfinite(values)


def split_labels(task: Task, labels, predictions) -> LabelSplit:
    """Splits one task's labels into clean values, an observed mask and an invalid count.

    Args:
        task: `Task`. The task the labels belong to.
        labels: tensor. The task's labels: class indices of shape `(batch,)`
            or `(batch, 1)` for classification, floats shaped like
            `predictions` (a trailing axis of 1 may be omitted) otherwise.
        predictions: tensor. The task's outputs, used for the target shape.

    Returns:
        A `LabelSplit`. For classification labels and mask have shape
        `(batch,)`; otherwise they have the shape of `predictions`.
    """
    rule = task.kind_spec.label_rule
    if task.kind_spec.elementwise:
        values = ops.reshape(ops.cast(labels, "float32"), ops.shape(predictions))
        present = ops.logical_not(ops.isnan(values))
    else:
        values = ops.reshape(ops.cast(labels, "int32"), (-1,))
        present = ops.not_equal(values, -1)
    valid = _valid(rule, values, task.units)
    if rule == "class_index":
        valid = ops.logical_and(valid, ops.greater_equal(values, 0))
    observed = ops.logical_and(present, valid)
    invalid = ops.logical_and(present, ops.logical_not(valid))
    clean = ops.where(observed, values, ops.zeros_like(values))
    return LabelSplit(
        labels=clean,
        mask=ops.cast(observed, "float32"),
        num_invalid=ops.sum(ops.cast(invalid, "float32")),
    )


def split_missing(task: Task, labels, predictions):
    """Returns `(clean_labels, mask)`: `split_labels` without the invalid count.

    Args:
        task: `Task`. The task the labels belong to.
        labels: tensor. The task's labels (missing entries allowed).
        predictions: tensor. The task's outputs, used for the target shape.
    """
    split = split_labels(task, labels, predictions)
    return split.labels, split.mask


def broadcast_sample_weight(sample_weight, mask):
    """Multiplies `mask` by `sample_weight`, if any.

    Args:
        sample_weight: tensor or None. Per-example weights of shape
            `(batch,)` or `(batch, 1)`, or per-element weights shaped like
            `mask` (e.g. `(batch, units)` for elementwise kinds).
        mask: float32 tensor. The observed mask from `split_labels`.
    """
    if sample_weight is None:
        return mask
    weight = ops.cast(sample_weight, "float32")
    if len(weight.shape) == len(mask.shape) and len(mask.shape) > 1 and weight.shape[-1] != 1:
        return mask * weight
    weight = ops.reshape(weight, (-1,) + (1,) * (len(mask.shape) - 1))
    return mask * weight
