"""The trial table of a search: hyperparameters, per-task metrics, objective and Pareto flag per trial.

`trial_rows(tuner, objective)` reads the finished trials from the tuner's
oracle (in trial order). Each row holds `trial`, every searched value (empty
where a conditional one was inactive), each task's validation metrics
(`{task}_{metric}`, at the trial's best epoch), `objective`, `pareto`
(non-dominated on the tasks' scored metrics, `mtl_zoo.tuning.pareto`) and
`best` (highest objective). `write_trial_table` writes it as CSV and JSON.

Example:

>>> rows = trial_rows(tuner, objective)  # doctest: +SKIP
>>> print(format_trial_table(rows))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from mtl_zoo.training.score import SCORE_NAME
from mtl_zoo.tuning.pareto import pareto_flags
from mtl_zoo.tuning.tuners import format_value
from mtl_zoo.utils.tables import format_table

RESULTS_CSV = "search_results.csv"
RESULTS_JSON = "search_results.json"
FIXED_COLUMNS = ("trial",)
TRAILING_COLUMNS = ("objective", "pareto", "best")


def finished_trials(tuner) -> list:
    """The oracle's completed trials, in trial order."""
    trials = [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]
    return sorted(trials, key=lambda trial: int(trial.trial_id))


def trial_rows(tuner, objective, task_metrics: dict) -> list:
    """One dict per completed trial (see the module docstring).

    Args:
        tuner: a KerasTuner tuner after (part of) a search.
        objective: `TaskObjective`. Its scored metrics set the Pareto front.
        task_metrics: dict. Task name -> the metric names it logs (loss first).

    Returns:
        list of dict.
    """
    trials = finished_trials(tuner)
    hp_names = []
    for trial in trials:
        hp_names += [name for name in trial.hyperparameters.values
                     if not name.startswith("tuner/") and name not in hp_names]
    rows = []
    for trial in trials:
        values = trial.hyperparameters.values
        row = {"trial": int(trial.trial_id)}
        row.update({name: values.get(name, "") for name in hp_names})
        for task, names in task_metrics.items():
            for metric in names:
                key = f"val_{task}_{metric}"
                row[f"{task}_{metric}"] = (
                    trial.metrics.get_last_value(key) if trial.metrics.exists(key) else None
                )
        row["objective"] = trial.metrics.get_last_value(SCORE_NAME)
        rows.append(row)
    scored = [{task: row[f"{task}_{metric}"] for task, metric in objective.metrics.items()} for row in rows]
    flags = pareto_flags(scored, objective.directions()) if rows else []
    best = max(range(len(rows)), key=lambda index: rows[index]["objective"]) if rows else None
    for index, (row, flag) in enumerate(zip(rows, flags)):
        row["pareto"] = flag
        row["best"] = index == best
    return rows


def best_row(rows: list) -> dict:
    """The row with the highest objective."""
    return next(row for row in rows if row["best"])


def format_trial_table(rows: list) -> str:
    """The trial table as aligned text; `*` marks the Pareto front, `best` the best trial.

    Example:

    >>> print(format_trial_table([{"trial": 0, "units": 32, "objective": 0.5, "pareto": True, "best": True}]))
    trial  units  objective  pareto  best
    0      32     0.5        *       best
    """
    if not rows:
        return "(no finished trial)"
    columns = list(rows[0])

    def cell(row, column):
        value = row[column]
        if column == "pareto":
            return "*" if value else ""
        if column == "best":
            return "best" if value else ""
        return "" if value is None or value == "" else format_value(value)

    header = [column.replace("/", ".") for column in columns]
    return format_table([[cell(row, column) for column in columns] for row in rows], header=header)


def write_trial_table(rows: list, folder, summary: dict) -> list:
    """Writes `search_results.csv` and `search_results.json` (rows plus `summary`) to `folder`.

    Args:
        rows: list of dict. `trial_rows`.
        folder: str or Path.
        summary: dict. More fields for the JSON file (tuner, objective, best trial, ...).

    Returns:
        The two paths.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else list(FIXED_COLUMNS + TRAILING_COLUMNS)
    with open(folder / RESULTS_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    (folder / RESULTS_JSON).write_text(json.dumps({**summary, "trials": rows}, indent=2) + "\n")
    return [folder / RESULTS_CSV, folder / RESULTS_JSON]
