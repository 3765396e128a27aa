"""Plots of a search and of task affinity: the per-task trade-off of the trials, and the affinity heatmap.

`plot_tradeoff` draws, for two tasks, each trial as a point (task A's scored
metric against task B's) with the Pareto front highlighted and joined and
the best trial circled; for one task, a bar per trial; for more than two, a
parallel-coordinates plot (one axis per task, each trial a line, scaled so
that up is better on every axis, the front in colour). `plot_affinity` draws
an annotated task-by-task heatmap.

Example:

>>> plot_tradeoff(rows, objective, "search_tradeoff.png")  # doctest: +SKIP
"""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.figure import Figure

TRADEOFF_FILE = "search_tradeoff.png"


def _scored(rows, objective):
    tasks = list(objective.metrics)
    values = np.array([[row[f"{task}_{objective.metrics[task]}"] for task in tasks] for row in rows], dtype=float)
    return tasks, values


def plot_tradeoff(rows: list, objective, path) -> Figure:
    """Draws the trials' per-task trade-off (see the module docstring); writes a PNG.

    Args:
        rows: list of dict. `mtl_zoo.tuning.results.trial_rows`.
        objective: `TaskObjective`. Names each task's scored metric and direction.
        path: str or Path. The PNG file.

    Returns:
        The matplotlib `Figure`.
    """
    tasks, values = _scored(rows, objective)
    pareto = np.array([row["pareto"] for row in rows], dtype=bool)
    best = np.array([row["best"] for row in rows], dtype=bool)
    labels = [f"{task} {objective.metrics[task]}" for task in tasks]
    figure = Figure(figsize=(6.0, 4.5), layout="constrained")
    axes = figure.subplots()
    if len(tasks) == 1:
        colors = ["C1" if flag else "C0" for flag in best]
        axes.bar([str(row["trial"]) for row in rows], values[:, 0], color=colors)
        axes.set_xlabel("trial")
        axes.set_ylabel(labels[0])
    elif len(tasks) == 2:
        axes.scatter(values[~pareto, 0], values[~pareto, 1], color="0.6", label="trial")
        order = np.argsort(values[pareto, 0])
        axes.plot(values[pareto, 0][order], values[pareto, 1][order], "o-", color="C3", label="Pareto front")
        axes.scatter(values[best, 0], values[best, 1], s=200, facecolors="none", edgecolors="C0",
                     linewidths=2, label="best objective")
        for row, (x, y) in zip(rows, values):
            axes.annotate(str(row["trial"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize="small")
        axes.set_xlabel(labels[0])
        axes.set_ylabel(labels[1])
        axes.legend(fontsize="small")
    else:
        directions = objective.directions()
        low, high = values.min(axis=0), values.max(axis=0)
        scaled = (values - low) / np.where(high > low, high - low, 1.0)
        flip = np.array([directions[task] == "min" for task in tasks])
        scaled[:, flip] = 1.0 - scaled[:, flip]
        for index, row in enumerate(rows):
            color, width = ("C3", 2.0) if pareto[index] else ("0.7", 1.0)
            axes.plot(range(len(tasks)), scaled[index], color=color, linewidth=width,
                      label="Pareto front" if pareto[index] and pareto[:index].sum() == 0 else None)
        axes.set_xticks(range(len(tasks)), labels, rotation=20, ha="right")
        axes.set_ylabel("scaled metric (up is better)")
        axes.legend(fontsize="small")
    axes.set_title(f"{len(rows)} trials; front: trials {[row['trial'] for row in rows if row['pareto']]}")
    figure.savefig(path, dpi=100)
    return figure


def plot_affinity(matrix, task_names, title: str, path) -> Figure:
    """An annotated heatmap of a task-by-task matrix (red negative, blue positive); writes a PNG.

    Args:
        matrix: `[K, K]` array. Row i, column j: the effect of task i on task j.
        task_names: list of str.
        title: str.
        path: str or Path. The PNG file.

    Returns:
        The matplotlib `Figure`.
    """
    matrix = np.asarray(matrix, dtype=float)
    size = len(task_names)
    limit = max(float(np.abs(matrix).max()), 1e-12)
    figure = Figure(figsize=(2.5 + 0.8 * size, 1.8 + 0.7 * size), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="RdBu", vmin=-limit, vmax=limit)
    axes.set_xticks(range(size), task_names, rotation=45, ha="right")
    axes.set_yticks(range(size), task_names)
    for row, column in itertools.product(range(size), repeat=2):
        value = matrix[row, column]
        axes.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize="small",
                  color="white" if abs(value) > 0.6 * limit else "black")
    axes.set_xlabel("task j (affected)")
    axes.set_ylabel("task i (stepped on)")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, shrink=0.8)
    figure.savefig(path, dpi=100)
    return figure
