"""Per-task losses that skip missing labels.

Each task's loss is the mean over its *observed* labels in the batch: missing
labels (see `mtl_zoo.masking`) contribute nothing, and a batch where a task
has no labels at all gives a loss of exactly 0 for that task, never NaN.
For elementwise kinds (binary, multilabel, regression) every output unit is
its own observation, so a multilabel example with one missing label still
trains the others.

Example:

>>> import numpy as np
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.task_losses import masked_task_loss
>>> task = Task("price", kind="regression", loss="mean_absolute_error")
>>> labels = np.array([[1.0], [np.nan]], "float32")
>>> predictions = np.array([[3.0], [100.0]], "float32")
>>> float(masked_task_loss(task, labels, predictions))
2.0
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_zoo.masking import broadcast_sample_weight, check_label_range, split_missing
from mtl_zoo.tasks import Task


def resolve_loss_function(name: str):
    """Returns a callable `fn(y_true, y_pred)` giving one loss value per example.

    Args:
        name: str. A Keras loss name, e.g. "binary_crossentropy" or "huber".
    """
    try:
        loss = keras.losses.get(name)
    except ValueError as error:
        raise ValueError(
            f"Unknown loss '{name}'; use a Keras loss name such as "
            f"'sparse_categorical_crossentropy', 'binary_crossentropy', "
            f"'mean_squared_error' or 'huber'. Received: loss={name!r}"
        ) from error
    if isinstance(loss, type):
        loss = loss()
    if isinstance(loss, keras.losses.Loss):
        return loss.call
    return loss


def masked_task_loss(task: Task, labels, predictions, sample_weight=None):
    """Returns the task's mean loss over observed labels (0.0 if none).

    See `masked_task_loss_and_count` for the arguments.
    """
    return masked_task_loss_and_count(task, labels, predictions, sample_weight)[0]


def masked_task_loss_and_count(task: Task, labels, predictions, sample_weight=None):
    """Returns the task's mean loss over observed labels and their number.

    Args:
        task: `Task`. Supplies the loss name and the missing-label rule.
        labels: tensor. The task's labels (missing entries allowed).
        predictions: tensor. The task's outputs.
        sample_weight: tensor or None. Per-example weights, shape `(batch,)`.
            Defaults to None.

    Returns:
        A pair of float32 scalars: the loss (0.0 when nothing is observed)
        and the number of observed labels.
    """
    loss_function = resolve_loss_function(task.loss)
    predictions = ops.cast(predictions, "float32")
    clean_labels, mask = split_missing(task, labels, predictions)
    clean_labels = check_label_range(task, clean_labels)
    if task.kind_spec.elementwise:
        values = loss_function(clean_labels[..., None], predictions[..., None])
    else:
        values = loss_function(clean_labels, predictions)
    weights = broadcast_sample_weight(sample_weight, mask)
    observed = ops.sum(mask)
    return ops.sum(values * weights) / ops.maximum(observed, 1.0), observed
