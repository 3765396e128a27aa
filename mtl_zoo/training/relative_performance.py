"""How good a multi-task model is relative to single-task baselines: Δm.

Δm (Maninis et al. 2019, used by most MTL papers and LibMTL) is the mean over
tasks of the relative change of each task's metric against its single-task
baseline, sign-corrected so that positive always means better:

    Δm = 100 / T * Σ_t (-1)^{l_t} (M_t - B_t) / B_t

with `l_t = 1` when lower is better for task t's metric (errors, losses).
Each task is scored on its primary metric: the first one it names. Which
way a metric counts is declared by the class that computes it
(`lower_is_better`): a `lower_is_better` attribute on mtl_zoo's and
plugins' metric classes, a table of Keras' metric classes otherwise; a
metric whose direction is not declared is refused, never guessed.

Example:

>>> from mtl_zoo.training.relative_performance import delta_m
>>> round(delta_m({"digit": {"accuracy": 0.95}, "price": {"mae": 0.9}},
...               {"digit": {"accuracy": 0.90}, "price": {"mae": 1.0}},
...               {"digit": "accuracy", "price": "mae"}), 4)
7.7778
"""

from __future__ import annotations

import functools

# mtl_zoo's own metric names (resolved per task kind in `mtl_zoo.tasks.metrics`) -> the class that computes them,
# as "module:Class" so no metric module is imported before a direction is asked for.
OWN_METRIC_CLASSES = {
    "accuracy": "keras.metrics:Accuracy",
    "acc": "keras.metrics:Accuracy",
    "top_K_accuracy": "keras.metrics:SparseTopKCategoricalAccuracy",
    "rmse": "keras.metrics:RootMeanSquaredError",
    "pixel_accuracy": "keras.metrics:SparseCategoricalAccuracy",
    "mean_iou": "keras.metrics:MeanIoU",
    "iou": "mtl_zoo.tasks.kinds.box_metrics:BoxIoU",
    "abs_rel": "mtl_zoo.tasks.kinds.dense_metrics:AbsRel",
    "entity_f1": "mtl_zoo.tasks.kinds.tagging_metrics:EntityF1",
}
# Names of Keras metric classes by direction (a metric class of mtl_zoo or a plugin declares its own
# `lower_is_better` class attribute instead).
KERAS_LOWER_IS_BETTER = frozenset({
    "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "LogCoshError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson",
})
KERAS_HIGHER_IS_BETTER = frozenset({
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "AUC", "Precision", "Recall", "PrecisionAtRecall", "RecallAtPrecision",
    "SensitivityAtSpecificity", "SpecificityAtSensitivity", "F1Score", "FBetaScore", "R2Score",
    "CosineSimilarity", "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation",
    "ConcordanceCorrelation", "TruePositives", "TrueNegatives",
})


def metric_class(metric: str):
    """The class (or function) that computes the metric a task names: mtl_zoo's own, else Keras' of that name.

    Args:
        metric: str. A metric name as a task names it, e.g. "accuracy", "mape" or "abs_rel".

    Raises:
        ValueError: neither mtl_zoo nor Keras knows the name.

    Example:

    >>> metric_class("mape").__name__, metric_class("abs_rel").__name__
    ('MeanAbsolutePercentageError', 'AbsRel')
    """
    import importlib
    import re

    import keras

    own = "top_K_accuracy" if re.fullmatch(r"top_\d+_accuracy", metric) else metric
    if own in OWN_METRIC_CLASSES:
        module, name = OWN_METRIC_CLASSES[own].split(":")
        return getattr(importlib.import_module(module), name)
    try:
        found = keras.metrics.get(metric)
    except (ValueError, TypeError):
        raise ValueError(f"Unknown metric {metric!r}: no mtl_zoo or Keras metric has this name, so whether lower "
                         f"or higher is better is unknown. Received: metric={metric!r}") from None
    return type(found) if isinstance(found, keras.metrics.Metric) else found  # a class, or a metric function


@functools.lru_cache(maxsize=None)
def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` is better, as the class computing it declares (errors and losses).

    "loss" is lower-is-better. Other names resolve to their metric class
    (`metric_class`): a class that sets `lower_is_better` (mtl_zoo's and
    plugins' metrics) says it; a Keras metric class is looked up in
    `KERAS_LOWER_IS_BETTER` / `KERAS_HIGHER_IS_BETTER`. Any other class is
    refused rather than guessed.

    Args:
        metric: str. A metric name as a task names it, e.g. "accuracy" or "rmse".

    Raises:
        ValueError: the name is unknown, or its class declares no direction.

    Example:

    >>> lower_is_better("rmse"), lower_is_better("auc"), lower_is_better("mape")
    (True, False, True)
    """
    if metric == "loss":
        return True
    cls = metric_class(metric)
    declared = getattr(cls, "lower_is_better", None)
    if declared is not None:
        return bool(declared)
    if cls.__name__ in KERAS_LOWER_IS_BETTER or cls.__name__ in KERAS_HIGHER_IS_BETTER:
        return cls.__name__ in KERAS_LOWER_IS_BETTER
    raise ValueError(
        f"Metric {metric!r} ({cls.__module__}.{cls.__name__}) does not say whether lower or higher is better; "
        f"give its class a `lower_is_better` attribute (True for errors and losses, False for scores). "
        f"Received: metric={metric!r}"
    )


def relative_improvement(value: float, baseline: float, metric: str) -> float:
    """Relative change of `value` over `baseline` in percent, positive when better.

    Args:
        value: float. The multi-task model's metric.
        baseline: float. The single-task model's metric (non-zero).
        metric: str. The metric's name, which sets the direction.

    Raises:
        ValueError: the baseline is zero, so no relative change exists.

    Example:

    >>> round(relative_improvement(0.8, 1.0, "mae"), 6)
    20.0
    """
    if baseline == 0:
        raise ValueError(f"The single-task {metric} is 0, so its relative change is undefined. Received: baseline=0")
    change = 100.0 * (value - baseline) / abs(baseline)
    return -change if lower_is_better(metric) else change


def delta_m(multi_task: dict, single_task: dict, primary_metrics: dict) -> float:
    """Δm: the mean sign-corrected relative improvement over single-task baselines, in percent.

    Args:
        multi_task: dict. Task -> {metric: value} of the multi-task model.
        single_task: dict. Task -> {metric: value} of each task's own model.
        primary_metrics: dict. Task -> the metric Δm compares.

    Returns:
        float. Positive when the multi-task model is better on average.

    Example:

    >>> delta_m({"a": {"rmse": 0.5}}, {"a": {"rmse": 1.0}}, {"a": "rmse"})
    50.0
    """
    if not primary_metrics:
        raise ValueError("Δm needs at least one task. Received: primary_metrics={}")
    changes = []
    for task, metric in primary_metrics.items():
        for name, scores in (("multi-task", multi_task), ("single-task", single_task)):
            if metric not in scores.get(task, {}):
                raise ValueError(f"No {name} '{metric}' for task '{task}'. Received: {name} metrics={scores.get(task)}")
        changes.append(relative_improvement(multi_task[task][metric], single_task[task][metric], metric))
    return sum(changes) / len(changes)
