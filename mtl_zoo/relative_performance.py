"""How good a multi-task model is relative to single-task baselines: Δm.

Δm (Maninis et al. 2019, used by most MTL papers and LibMTL) is the mean over
tasks of the relative change of each task's metric against its single-task
baseline, sign-corrected so that positive always means better:

    Δm = 100 / T * Σ_t (-1)^{l_t} (M_t - B_t) / B_t

with `l_t = 1` when lower is better for task t's metric (errors, losses).
Each task is scored on its primary metric: the first one it names.

Example:

>>> from mtl_zoo.relative_performance import delta_m
>>> round(delta_m({"digit": {"accuracy": 0.95}, "price": {"mae": 0.9}},
...               {"digit": {"accuracy": 0.90}, "price": {"mae": 1.0}},
...               {"digit": "accuracy", "price": "mae"}), 4)
7.7778
"""

from __future__ import annotations

# Metric names (as tasks name them) for which a smaller value is better.
LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "mae",
        "mse",
        "rmse",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "log_cosh",
        "logcosh",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "hinge",
        "squared_hinge",
        "abs_rel",
    }
)


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` is better (errors and losses).

    Args:
        metric: str. A metric name as a task names it, e.g. "accuracy" or "rmse".

    Example:

    >>> lower_is_better("rmse"), lower_is_better("auc")
    (True, False)
    """
    return metric in LOWER_IS_BETTER


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
