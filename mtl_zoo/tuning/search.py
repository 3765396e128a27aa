"""A whole search for `mtl-zoo tune`: run (or resume) the trials, tabulate them, export the best model.

`run_search` runs the trials with a `RecipeHyperModel` and returns the `SearchOutcome`: the
trial table, the best trial's recipe and a summary. `write_search_results`
writes the table (CSV, JSON) and the trade-off plot; `write_tuned_artifact`
trains nothing itself: it writes a `TrainingResult` of the best recipe into
the output folder as `mtl-zoo train` would (`mtl_zoo.artifacts.writer.write_artifact`),
beside the search state and results, which it keeps.

Output folder layout:

    search/                 KerasTuner's state (oracle.json, trial_*/): what --resume reads
    search_results.csv      one row per finished trial
    search_results.json     the same rows, plus the tuner, objective and best trial
    search_tradeoff.png     the per-task trade-off, Pareto front highlighted
    model.keras, saved_model/, metrics.json, recipe.yaml, ...   the best recipe, trained as `train` does

Example:

>>> outcome = run_search(recipe, "random", max_trials=3, output="saved_models/tuned")  # doctest: +SKIP
>>> outcome.best_recipe.model.sharing  # doctest: +SKIP
'mmoe'
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import keras_tuner

from mtl_zoo.artifacts.folder import ArtifactError
from mtl_zoo.artifacts.writer import write_artifact
from mtl_zoo.errors import RecipeError
from mtl_zoo.tuning.hypermodel import RecipeHyperModel
from mtl_zoo.tuning.search_plots import TRADEOFF_FILE, plot_tradeoff
from mtl_zoo.tuning.results import best_row, finished_trials, trial_rows, write_trial_table
from mtl_zoo.tuning.tuners import PROJECT_NAME, make_tuner, trial_tracing

SEARCH_DIR = PROJECT_NAME


@dataclasses.dataclass
class SearchOutcome:
    """What `run_search` returns.

    Args:
        rows: list of dict. The trial table (`mtl_zoo.tuning.results.trial_rows`).
        best_recipe: `Recipe`. The recipe with the best trial's values.
        summary: dict. Tuner, objective, best trial and Pareto front, for the JSON file.
        hypermodel: `RecipeHyperModel`.
        tuner: the KerasTuner tuner.
        search_seconds: float. Wall time of this call's trials.
    """

    rows: list
    best_recipe: object
    summary: dict
    hypermodel: object
    tuner: object
    search_seconds: float


def check_search_folder(output, resume: bool, overwrite: bool) -> None:
    """Raises unless the output folder suits the run: `--resume` needs a search there, a new one an empty folder.

    Args:
        output: Path. The output folder.
        resume: bool. `--resume`.
        overwrite: bool. `--overwrite`.
    """
    state = Path(output) / SEARCH_DIR / "oracle.json"
    if resume:
        if overwrite:
            raise ArtifactError(f"--resume continues the search in {output}, --overwrite starts it afresh: "
                                f"give one of them. Received: --resume --overwrite")
        if not state.exists():
            raise ArtifactError(f"{output} holds no search to resume ({state} is missing); leave out --resume to "
                                f"start one. Received: output={str(output)!r}")
        return
    if Path(output).exists() and any(Path(output).iterdir()) and not overwrite:
        raise ArtifactError(f"{output} already holds files; pass --resume to continue its search, --overwrite to "
                            f"start afresh, or --output DIR to write elsewhere. Received: output={str(output)!r}")


def run_search(recipe, tuner_kind: str, max_trials: int, output, resume: bool = False, hypermodel=None):
    """Runs (or resumes) a search over the recipe's space; returns a `SearchOutcome`.

    Args:
        recipe: `Recipe`. Needs a validation split (the objective is scored on it).
        tuner_kind: str. "random", "bayesian" or "hyperband".
        max_trials: int. Trials in the whole search (finished ones included on resume).
        output: str or Path. The output folder; the search state goes to `output/search/`.
        resume: bool. Continue the search found there. Defaults to False (start afresh).
        hypermodel: `RecipeHyperModel` or None. Defaults to one for `recipe`.
    """
    import time

    if not recipe.data.validation_split:
        raise RecipeError(recipe.source, "data.validation_split",
                          "tune scores each trial on the validation split; name one. Received: null")
    hypermodel = hypermodel or RecipeHyperModel(recipe)
    tuner = make_tuner(tuner_kind, hypermodel, output, max_trials, max_epochs=recipe.training.epochs,
                       overwrite=not resume, seed=recipe.seed)
    start = time.perf_counter()
    with trial_tracing():  # each trial's new model traces its step functions once
        try:
            tuner.search(epochs=recipe.training.epochs, verbose=0)  # each trial reads its splits (RecipeHyperModel.fit)
        except RuntimeError as error:  # KerasTuner stops at a failed trial, its traceback in the message
            failed = [trial for trial in tuner.oracle.trials.values() if trial.status == "FAILED"]
            if not failed:
                raise
            raise RecipeError(recipe.source, "tuning", failed_trial_reason(failed[-1])) from None
    search_seconds = time.perf_counter() - start
    task_metrics = {task.name: ["loss", *task.to_task().metrics] for task in recipe.tasks}
    rows = trial_rows(tuner, hypermodel.objective, task_metrics)
    if not rows:
        raise RecipeError(recipe.source, "tuning", "no trial finished. Received: 0 completed trials")
    best = best_row(rows)
    best_trial = next(trial for trial in finished_trials(tuner) if int(trial.trial_id) == best["trial"])
    best_recipe = hypermodel.recipe_for(keras_tuner.HyperParameters.from_config(best_trial.hyperparameters.get_config()))
    summary = {
        "recipe": recipe.name,
        "tuner": tuner_kind,
        "max_trials": max_trials,
        "objective": {
            "name": "multi_task_score",
            "kind": "delta_m" if hypermodel.objective.uses_delta_m else "weighted_mean",
            "metrics": hypermodel.objective.metrics,
            "weights": hypermodel.objective.weights,
            "baselines": hypermodel.objective.baselines,
            "split": recipe.data.validation_split,
        },
        "best_trial": best["trial"],
        "pareto_trials": [row["trial"] for row in rows if row["pareto"]],
        "skipped": hypermodel.space.skipped,
        "search_seconds": round(search_seconds, 3),
    }
    return SearchOutcome(rows=rows, best_recipe=best_recipe, summary=summary, hypermodel=hypermodel, tuner=tuner,
                         search_seconds=search_seconds)


def failed_trial_reason(trial) -> str:
    """One line on a failed KerasTuner trial: its number, its values and the error its traceback ends with.

    Example:

    >>> trial = keras_tuner.engine.trial.Trial(keras_tuner.HyperParameters(), trial_id="2")
    >>> trial.hyperparameters.Fixed("sharing", "soft")
    'soft'
    >>> trial.message = "Traceback (most recent call last):\\n  ...\\nValueError: no data\\n"
    >>> failed_trial_reason(trial)
    'trial 3 (sharing=soft) failed: ValueError: no data'
    """
    lines = [line.strip() for line in (trial.message or "").splitlines() if line.strip()]
    values = ", ".join(f"{name}={value}" for name, value in trial.hyperparameters.values.items()
                       if not name.startswith("tuner/"))
    return f"trial {int(trial.trial_id) + 1} ({values}) failed: {lines[-1] if lines else 'no error message'}"


def write_search_results(outcome: SearchOutcome, output) -> list:
    """Writes `search_results.csv`, `search_results.json` and `search_tradeoff.png` to `output`; returns the paths."""
    paths = write_trial_table(outcome.rows, output, outcome.summary)
    plot_tradeoff(outcome.rows, outcome.hypermodel.objective, Path(output) / TRADEOFF_FILE)
    return paths + [Path(output) / TRADEOFF_FILE]


def write_tuned_artifact(result, recipe, output, summary: dict, tensorboard_logs=None) -> Path:
    """Writes the best recipe's `TrainingResult` into `output` as `train` does, keeping the search files.

    The artifact is written (and checked) in a folder beside `output` by
    `write_artifact`, then moved in entry by entry, replacing the entries of an
    earlier artifact; `search/` and the `search_*` files stay. `metrics.json`
    gains a `search` field (the summary).

    Args:
        result: `TrainingResult` of the best recipe.
        recipe: `Recipe`. The best recipe.
        output: str or Path. The output folder.
        summary: dict. `SearchOutcome.summary`.
        tensorboard_logs: folder of TensorBoard logs or None.
    """
    output = Path(output)
    staging = output.with_name(f".{output.name}.tuned-artifact")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        write_artifact(result, recipe, staging, tensorboard_logs=tensorboard_logs,
                       extra_metrics={"search": summary, "distribution": result.distribution})
        output.mkdir(parents=True, exist_ok=True)
        for entry in staging.iterdir():
            target = output / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            entry.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return output
