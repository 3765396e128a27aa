"""Per-task Keras metrics that skip missing labels.

Metric names in a `Task` are resolved for the task's kind first
(`TaskKind.make_metric`): "accuracy" is sparse categorical accuracy for
classification, token accuracy for tagging, pixel accuracy for segmentation
and binary accuracy for binary and multilabel tasks; kinds build their own
metrics ("entity_f1", "iou", "mean_iou", "abs_rel", ...). Other names are
Keras metrics. Which names can score which kind is the kind's
`metrics` table (`mtl_zoo.tasks.task.check_metric`). Every metric object is named
`f"{task}_{metric}"`, so the logs of `fit` read `left_digit_accuracy`,
`price_mae`, ...

Elementwise tasks (binary, multilabel, regression) are scored over observed
entries, micro-averaged over their output units; how a kind's labels reach
its metrics is `TaskKind.metric_inputs`.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.tasks.metrics import make_task_metrics
>>> [metric.name for metric in make_task_metrics(Task("digit", "classification", 10))]
['digit_accuracy']
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_zoo.tasks.labels import broadcast_sample_weight, split_missing
from mtl_zoo.tasks.task import Task, check_metric

_NAMED_METRICS = {
    "auc": lambda name, task: keras.metrics.AUC(name=name),
    "precision": lambda name, task: keras.metrics.Precision(name=name),
    "recall": lambda name, task: keras.metrics.Recall(name=name),
    "mae": lambda name, task: keras.metrics.MeanAbsoluteError(name=name),
    "mse": lambda name, task: keras.metrics.MeanSquaredError(name=name),
    "rmse": lambda name, task: keras.metrics.RootMeanSquaredError(name=name),
}


def make_metric(metric: str, task: Task) -> keras.metrics.Metric:
    """Builds the metric named `metric` for `task`.

    Args:
        metric: str. "accuracy", "auc", "precision", "recall", "mae", "mse",
            "rmse", "top_K_accuracy" (classification) or a Keras metric name.
        task: `Task`. The task it scores.

    Returns:
        A `keras.metrics.Metric` named `f"{task.name}_{metric}"`.

    Raises:
        ValueError: the name is unknown or cannot score the task's kind.
    """
    check_metric(task.name, task.kind_spec, metric)
    name = f"{task.name}_{metric}"
    own = task.kind_spec.make_metric(task, metric, name)
    if own is not None:
        return own
    if metric in _NAMED_METRICS:
        return _NAMED_METRICS[metric](name, task)
    try:
        found = keras.metrics.get(metric)
    except ValueError as error:
        raise ValueError(
            f"Task '{task.name}': unknown metric '{metric}'; use accuracy, auc, precision, "
            f"recall, mae, mse, rmse, top_K_accuracy or a Keras metric name. "
            f"Received: metric={metric!r}"
        ) from error
    if isinstance(found, type):
        return found(name=name)
    if isinstance(found, keras.metrics.Metric):
        return type(found).from_config({**found.get_config(), "name": name})
    return keras.metrics.MeanMetricWrapper(found, name=name)


def make_task_metrics(task: Task) -> list:
    """Builds every metric the task names, in order."""
    return [make_metric(metric, task) for metric in task.metrics]


def update_task_metrics(metrics, task: Task, labels, predictions, sample_weight=None) -> None:
    """Updates `metrics` with one batch, ignoring missing labels.

    Args:
        metrics: list of `keras.metrics.Metric` for this task.
        task: `Task`. The task being scored.
        labels: tensor. The task's labels (missing entries allowed).
        predictions: tensor. The task's outputs.
        sample_weight: tensor or None. Per-example weights, shape `(batch,)`.
    """
    predictions = ops.cast(predictions, "float32")
    clean_labels, mask = split_missing(task, labels, predictions)
    weights = broadcast_sample_weight(sample_weight, mask)
    clean_labels, predictions, weights = task.kind_spec.metric_inputs(task, clean_labels, predictions, weights)
    for metric in metrics:
        metric.update_state(clean_labels, predictions, sample_weight=weights)
