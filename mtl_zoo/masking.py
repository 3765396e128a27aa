"""Missing labels: split a task's labels into clean values and an observed mask.

A missing label is -1 for class indices and NaN for float labels (binary,
multilabel, regression). Missing entries are replaced by a harmless value (0)
so no NaN reaches a loss or a metric, and the returned mask (1.0 observed,
0.0 missing) removes them from that task's loss and metrics only.

Example:

>>> import numpy as np
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.masking import split_missing
>>> task = Task("price", kind="regression")
>>> labels, mask = split_missing(task, np.array([1.0, np.nan]), np.zeros((2, 1)))
>>> mask.numpy().ravel().tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from mtl_zoo.tasks import Task

BAD_LABEL_MESSAGE = "has a label that cannot belong to it"


def split_missing(task: Task, labels, predictions):
    """Returns `(clean_labels, mask)` for one task's batch of labels.

    Args:
        task: `Task`. The task the labels belong to.
        labels: tensor. The task's labels: class indices of shape `(batch,)`
            or `(batch, 1)` for classification, floats shaped like
            `predictions` (a trailing axis of 1 may be omitted) otherwise.
        predictions: tensor. The task's outputs, used for the target shape.

    Returns:
        A pair: labels with missing entries set to 0, and a float32 mask of
        the same shape (1.0 where a label is observed). For classification
        both have shape `(batch,)`; otherwise they have the shape of
        `predictions`.
    """
    if task.kind_spec.elementwise:
        values = ops.reshape(ops.cast(labels, "float32"), ops.shape(predictions))
        observed = ops.logical_not(ops.isnan(values))
        return ops.where(observed, values, 0.0), ops.cast(observed, "float32")
    indices = ops.reshape(ops.cast(labels, "int32"), (-1,))
    observed = ops.greater_equal(indices, 0)
    return ops.where(observed, indices, 0), ops.cast(observed, "float32")


def broadcast_sample_weight(sample_weight, mask):
    """Multiplies `mask` by per-example `sample_weight` (shape `(batch,)`), if any."""
    if sample_weight is None:
        return mask
    weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    weight = ops.reshape(weight, (-1,) + (1,) * (len(mask.shape) - 1))
    return mask * weight


def check_label_range(task: Task, clean_labels):
    """Returns `clean_labels`, failing first if an observed label cannot belong to `task`.

    Class indices must be below `classes`; binary and multilabel labels must
    lie in [0, 1]. Missing entries are already 0 in `clean_labels`. The error
    (a `tf.errors.InvalidArgumentError`) names the task and contains
    `BAD_LABEL_MESSAGE`.

    Args:
        task: `Task`. The task the labels belong to.
        clean_labels: tensor. Labels returned by `split_missing`.

    Returns:
        `clean_labels`, computed only after the check (use it downstream so
        no loss op runs on bad labels first).
    """
    prefix = f"Task {task.name} {BAD_LABEL_MESSAGE}"
    checks = []
    if task.kind == "classification":
        checks.append(tf.debugging.assert_less(
            clean_labels, task.units,
            message=f"{prefix}: class indices must be below classes={task.units} (-1 marks a missing label)",
        ))
    elif task.kind in ("binary", "multilabel"):
        message = f"{prefix}: labels must lie in [0, 1]"
        checks.append(tf.debugging.assert_greater_equal(clean_labels, 0.0, message=message))
        checks.append(tf.debugging.assert_less_equal(clean_labels, 1.0, message=message))
    with tf.control_dependencies([check for check in checks if check is not None]):
        return tf.identity(clean_labels)
