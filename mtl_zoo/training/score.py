"""The multi-task score: one number from the tasks' validation metrics, fair when loss weights are searched.

`mtl-zoo tune` maximizes it and early stopping watches it by default
(`mtl_zoo.training.early_stopping`).

`val_loss` is the balancer's weighted sum of the task losses, so it changes
with the loss weights a search tries and cannot rank trials. `TaskObjective`
ranks them by the tasks' own validation metrics instead:

- by default, the weighted mean over tasks of each task's metric, signed so
  that larger is better (`accuracy`, `auc` count up; `loss`, `rmse`, `mae`
  count down, as each metric declares: see `mtl_zoo.training.relative_performance.lower_is_better`):
  `score = sum_t w_t * s_t * m_t / sum_t w_t` with `s_t = -1` when lower is better;
- with single-task baselines for every task, Δm against them (in percent,
  larger is better; `mtl_zoo.training.relative_performance.delta_m`).

Each task is scored on the metric `tuning.objective.metrics` names, else its
first metric, else its loss. `ScoreLogger` writes the score into the logs at
the end of every epoch as `multi_task_score`, so KerasTuner's own machinery
(best epoch, checkpoints, Hyperband) uses it like any logged metric.

Example:

>>> objective = TaskObjective({"a": "accuracy", "b": "rmse"}, weights={"a": 1.0, "b": 1.0})
>>> objective.score({"a": {"accuracy": 0.9}, "b": {"rmse": 0.5}})
0.2
>>> objective.score_logs({"val_a_accuracy": 0.9, "val_b_rmse": 0.5})
0.2
"""

from __future__ import annotations

import keras

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.schema import MULTI_TASK_SCORE
from mtl_zoo.training.relative_performance import delta_m, lower_is_better

SCORE_NAME = MULTI_TASK_SCORE


def primary_metric(task) -> str:
    """A task's default objective metric: its first metric, else its loss."""
    return task.metrics[0] if task.metrics else "loss"


class TaskObjective:
    """Scores per-task validation metrics as one number to maximize.

    Args:
        metrics: dict. Task name -> the metric it is scored on.
        weights: dict or None. Task name -> weight >= 0 (missing tasks: 1).
            Defaults to None (every task 1).
        baselines: dict or None. Task name -> {metric: single-task value};
            given for every task, the score is Δm against them. Defaults to
            None (the weighted mean).
    """

    def __init__(self, metrics: dict, weights=None, baselines=None):
        self.metrics = dict(metrics)
        self.weights = {task: float((weights or {}).get(task, 1.0)) for task in self.metrics}
        self.baselines = dict(baselines or {})
        if sum(self.weights.values()) <= 0:
            raise ValueError(f"At least one task weight must be positive. Received: weights={self.weights}")

    @classmethod
    def from_recipe(cls, recipe) -> "TaskObjective":
        """The objective of `recipe.tuning.objective` (or the default), checked against the recipe's tasks."""
        config = recipe.tuning.objective if recipe.tuning else None
        tasks = {task.name: task.to_task() for task in recipe.tasks}
        for field in ("metrics", "weights", "baselines"):
            unknown = sorted(set(getattr(config, field, {}) or {}) - set(tasks))
            if unknown:
                raise RecipeError(recipe.source, f"tuning.objective.{field}",
                                  f"no task is named {', '.join(map(repr, unknown))}; allowed: {', '.join(tasks)}")
        metrics = {}
        for name, task in tasks.items():
            metric = (config.metrics.get(name) if config else None) or primary_metric(task)
            if metric != "loss" and metric not in task.metrics:
                raise RecipeError(recipe.source, f"tuning.objective.metrics.{name}",
                                  f"task '{name}' logs {', '.join(['loss', *task.metrics])}. Received: {metric!r}")
            metrics[name] = metric
        baselines = dict(config.baselines) if config else {}
        if baselines and set(baselines) != set(tasks):
            raise RecipeError(recipe.source, "tuning.objective.baselines",
                              f"Δm needs a baseline for every task ({', '.join(tasks)}). Received: {sorted(baselines)}")
        for name, values in baselines.items():
            if metrics[name] not in values:
                raise RecipeError(recipe.source, f"tuning.objective.baselines.{name}",
                                  f"give the single-task {metrics[name]} that task '{name}' is scored on. "
                                  f"Received: {sorted(values)}")
        try:
            return cls(metrics, weights=config.weights if config else None, baselines=baselines)
        except ValueError as error:
            raise RecipeError(recipe.source, "tuning.objective.weights", str(error)) from None

    @property
    def uses_delta_m(self) -> bool:
        """Whether the score is Δm against single-task baselines."""
        return bool(self.baselines)

    def directions(self) -> dict:
        """Task name -> "max" or "min": the direction of the metric it is scored on."""
        return {task: "min" if lower_is_better(metric) else "max" for task, metric in self.metrics.items()}

    def task_values(self, metrics_by_task: dict) -> dict:
        """Task name -> the value of the metric it is scored on."""
        return {task: float(metrics_by_task[task][metric]) for task, metric in self.metrics.items()}

    def score(self, metrics_by_task: dict) -> float:
        """The objective (larger is better) of task -> {metric: value}.

        Args:
            metrics_by_task: dict. Task name -> {metric: value}.
        """
        if self.uses_delta_m:
            return float(delta_m(metrics_by_task, self.baselines, self.metrics))
        total = sum(self.weights.values())
        signed = 0.0
        for task, value in self.task_values(metrics_by_task).items():
            sign = -1.0 if lower_is_better(self.metrics[task]) else 1.0
            signed += self.weights[task] * sign * value
        return round(signed / total, 12)

    def log_key(self, task: str, prefix: str = "val_") -> str:
        """The Keras log key of a task's scored metric, e.g. `val_left_digit_accuracy`."""
        return f"{prefix}{task}_{self.metrics[task]}"

    def score_logs(self, logs: dict, prefix: str = "val_") -> float:
        """The objective from flat Keras logs (validation metrics by default)."""
        missing = [self.log_key(task, prefix) for task in self.metrics if self.log_key(task, prefix) not in logs]
        if missing:
            raise ValueError(f"The logs have no {', '.join(missing)}: the objective needs validation metrics "
                             f"(give the recipe a data.validation_split). Received: logs {sorted(logs)}")
        return self.score({task: {metric: logs[self.log_key(task, prefix)]} for task, metric in self.metrics.items()})


class ScoreLogger(keras.callbacks.Callback):
    """Adds `multi_task_score` (the `TaskObjective` of the epoch's validation metrics) to the epoch logs.

    List it before callbacks that read the score (KerasTuner's checkpointing,
    `History`): they see the same logs dict.

    Args:
        objective: `TaskObjective`.
    """

    def __init__(self, objective: TaskObjective):
        super().__init__()
        self.objective = objective

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[SCORE_NAME] = self.objective.score_logs(logs)
