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

from keras import ops

from mtl_zoo.tasks import Task


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
