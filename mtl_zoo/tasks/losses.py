"""Per-task losses that skip missing labels.

Each task's loss is the mean over its *observed* labels in the batch: missing
labels (see `mtl_zoo.tasks.labels`) contribute nothing, and a batch where a task
has no labels at all gives a loss of exactly 0 for that task, never NaN.
What one observation is belongs to the task's kind (`TaskKind.split_labels`
and `TaskKind.loss_values`): an example for classification; every output
unit for elementwise kinds (binary, multilabel, regression, box coordinates,
per-pixel regression), so a multilabel example with one missing label still
trains the others; every token for tagging and every pixel for segmentation,
so padding and unlabelled pixels train nothing.

Example:

>>> import numpy as np
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.tasks.losses import masked_task_loss
>>> task = Task("price", kind="regression", loss="mean_absolute_error")
>>> labels = np.array([[1.0], [np.nan]], "float32")
>>> predictions = np.array([[3.0], [100.0]], "float32")
>>> float(masked_task_loss(task, labels, predictions))
2.0
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from mtl_zoo.tasks.labels import broadcast_sample_weight
from mtl_zoo.tasks.task import Task


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
        sample_weight: tensor or None. Per-example weights, shape `(batch,)`,
            or per-element weights shaped like the predictions for
            elementwise kinds. Defaults to None.

    Returns:
        A pair of float32 scalars: the loss (0.0 when nothing is observed)
        and the number of observed labels.
    """
    terms = masked_task_loss_terms(task, labels, predictions, sample_weight)
    return terms.total / ops.maximum(terms.count, 1.0), terms.count


@dataclasses.dataclass
class TaskLossTerms:
    """The parts of one task's masked loss on one batch (or one replica's share).

    Args:
        total: float32 scalar. Sum of the (weighted) per-label losses over
            observed labels.
        count: float32 scalar. Number of observed labels.
        num_invalid: float32 scalar. Number of labels the task cannot have;
            they are left out of `total` and `count`.
    """

    total: object
    count: object
    num_invalid: object


def masked_task_loss_terms(task: Task, labels, predictions, sample_weight=None) -> TaskLossTerms:
    """Returns the sum and count of a task's loss over observed labels.

    Keeping the sum and the count apart lets the model divide by the number
    of observed labels of the *global* batch when a batch is split across
    replicas (see `mtl_zoo.models.reduction`).

    Args:
        task: `Task`. Supplies the loss name and the label rules.
        labels: tensor. The task's labels (missing entries allowed).
        predictions: tensor. The task's outputs.
        sample_weight: tensor or None. Per-example or per-element weights.
            Defaults to None.

    Returns:
        A `TaskLossTerms`.
    """
    loss_function = resolve_loss_function(task.loss)
    predictions = ops.cast(predictions, "float32")
    split = task.kind_spec.split_labels(task, labels, predictions)
    values = task.kind_spec.loss_values(loss_function, split.labels, predictions)
    weights = broadcast_sample_weight(sample_weight, split.mask)
    return TaskLossTerms(
        total=ops.sum(values * weights), count=ops.sum(split.mask), num_invalid=split.num_invalid
    )
