"""Readable progress: one line per epoch with every task's loss and metrics, and result tables.

Example:

>>> print(format_metrics_table({"left_digit": {"loss": 0.1, "accuracy": 0.97}}))
task        loss    accuracy
left_digit  0.1000  0.9700
"""

from __future__ import annotations

import sys
import time

import keras

from mtl_zoo.training.score import SCORE_NAME

from mtl_zoo.utils.tables import format_table


def format_metrics_table(metrics: dict) -> str:
    """Formats task name -> {metric: value} as an aligned text table.

    Args:
        metrics: dict. Task name -> dict of metric name -> float.

    Returns:
        The table, one row per task, one column per metric name seen.
    """
    columns = []
    for values in metrics.values():
        columns += [name for name in values if name not in columns]
    rows = [[task] + [f"{values[name]:.4f}" if name in values else "-" for name in columns]
            for task, values in metrics.items()]
    return format_table(rows, header=["task"] + columns)


class EpochProgress(keras.callbacks.Callback):
    """Prints one line per epoch: time, total loss, then each task's loss and metrics.

    Validation values follow their training value as `(val 0.95)`. Keras'
    `ProgbarLogger` is not used: it prints the logs' flat `task_metric` keys
    in one run, where this line groups each task's values under the task's name.

    Args:
        task_metrics: dict. Task name -> list of metric names (loss first).
        stream: file. Where to print. Defaults to standard output.
    """

    def __init__(self, task_metrics: dict, stream=None):
        super().__init__()
        self.task_metrics = task_metrics
        self.stream = stream or sys.stdout
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        epochs = self.params.get("epochs", "?")
        seconds = time.perf_counter() - self._epoch_start
        parts = [f"epoch {epoch + 1}/{epochs} [{seconds:.1f}s] loss {logs.get('loss', float('nan')):.4f}"]
        if SCORE_NAME in logs:  # logged when early stopping watches it
            parts[0] += f" (val score {logs[SCORE_NAME]:.4f})"
        for task, names in self.task_metrics.items():
            values = []
            for name in names:
                key = f"{task}_{name}"
                if key not in logs:
                    continue
                text = f"{name} {logs[key]:.4f}"
                if f"val_{key}" in logs:
                    text += f" (val {logs[f'val_{key}']:.4f})"
                values.append(text)
            parts.append(f"{task}: " + ", ".join(values))
        print(" | ".join(parts), file=self.stream, flush=True)
