"""KerasTuner tuners for recipes: random search, Bayesian optimization and Hyperband, with per-trial progress.

All three maximize `multi_task_score` (`mtl_zoo.training.score`), keep
their state (the oracle's `oracle.json` and one folder per trial) under
`directory/project_name`, and resume from it when built with
`overwrite=False`: finished trials are kept, not run again, and a trial that
was running when the search stopped runs again with the same values.
`max_trials` caps Hyperband too (it otherwise runs its brackets to the end).

Example:

>>> tuner = make_tuner("random", hypermodel, "runs/search", max_trials=3)  # doctest: +SKIP
>>> tuner.search(train, validation_data=validation, epochs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time

import keras_tuner

from mtl_zoo.training.score import SCORE_NAME

TUNER_KINDS = ("random", "bayesian", "hyperband")
PROJECT_NAME = "search"


def write_json_atomically(path, state) -> None:
    """Writes `state` as JSON to `path` through a temporary file, so a killed process leaves the old file or the new.

    KerasTuner writes its state files in place: a search killed while it
    writes one leaves it empty, and the search can no longer resume.

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "oracle.json"
    >>> write_json_atomically(path, {"trials": 1}); path.read_text()
    '{"trials": 1}'
    """
    temporary = f"{path}.partial"
    with open(temporary, "w") as handle:
        handle.write(json.dumps(state))
    os.replace(temporary, path)


def save_state_atomically(oracle) -> None:
    """Makes this oracle write `oracle.json` and each `trial.json` with `write_json_atomically`."""
    oracle.save = lambda: write_json_atomically(oracle._get_oracle_fname(), oracle.get_state())
    oracle._save_trial = lambda trial: write_json_atomically(
        os.path.join(oracle._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state())


class TrialProgress:
    """Prints one line when a trial starts and one when it ends (mixed into a KerasTuner tuner).

    It also makes every state file of the search (the tuner's, the oracle's,
    each trial's) be written atomically, so a search killed at any moment
    resumes.
    """

    progress_stream = None  # None: the current sys.stdout

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        save_state_atomically(self.oracle)

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        write_json_atomically(self._get_tuner_fname(), self.get_state())

    def _print(self, text: str) -> None:
        print(text, file=self.progress_stream or sys.stdout, flush=True)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._trial_start = time.perf_counter()
        values = ", ".join(f"{name}={format_value(value)}" for name, value in trial.hyperparameters.values.items()
                           if not name.startswith("tuner/"))
        total = self.oracle.max_trials or "?"
        self._print(f"Trial {int(trial.trial_id) + 1}/{total}: {values}")

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        seconds = time.perf_counter() - getattr(self, "_trial_start", time.perf_counter())
        score = trial.metrics.get_last_value(SCORE_NAME) if trial.metrics.exists(SCORE_NAME) else None
        status = f"score {score:.4f}" if score is not None else f"status {trial.status}"
        self._print(f"  -> {status} ({seconds:.1f}s)")


class RandomSearchTuner(TrialProgress, keras_tuner.RandomSearch):
    """`keras_tuner.RandomSearch` with per-trial progress lines."""


class BayesianTuner(TrialProgress, keras_tuner.BayesianOptimization):
    """`keras_tuner.BayesianOptimization` with per-trial progress lines."""


class HyperbandTuner(TrialProgress, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband` with per-trial progress lines."""


class _NewModelTracingFilter(logging.Filter):
    """Drops TensorFlow's frequent-retracing warning about Keras' own step functions (see `trial_tracing`)."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "TensorFlowTrainer._make_function" in message)


@contextlib.contextmanager
def trial_tracing():
    """While a search runs, TensorFlow's warning that Keras' step functions "triggered retracing" is left out.

    Every trial builds a new model, whose training and evaluation functions
    are each traced once (Keras makes them with `reduce_retracing=True`).
    TensorFlow counts traces by the Python code of the function, which all
    models share, so from the third trial on it warns of retracing that did
    not happen. Only that warning, about Keras' trainer functions, is
    dropped, and only inside this context: a function of the user's that
    retraces is still reported.

    Example:

    >>> with trial_tracing():  # doctest: +SKIP
    ...     tuner.search(epochs=1)
    """
    import tensorflow as tf

    logger = tf.get_logger()
    quiet = _NewModelTracingFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def format_value(value) -> str:
    """A hyperparameter value for a progress line or table (floats to 4 significant digits)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def make_tuner(kind: str, hypermodel, directory, max_trials: int, max_epochs: int = 1, overwrite: bool = False,
               seed: int = 42):
    """A tuner maximizing `multi_task_score`, keeping its state in `directory/search`.

    Args:
        kind: str. "random", "bayesian" or "hyperband".
        hypermodel: `RecipeHyperModel`.
        directory: str or Path. The search folder's parent.
        max_trials: int. Trials to run, at least 1.
        max_epochs: int. Most epochs of a Hyperband trial (the recipe's
            epochs). Defaults to 1.
        overwrite: bool. Start afresh (True) or resume the state found
            there (False). Defaults to False.
        seed: int. Seed of the oracle. Defaults to 42.
    """
    if kind not in TUNER_KINDS:
        raise ValueError(f"The tuner is one of {', '.join(TUNER_KINDS)}. Received: {kind!r}")
    if max_trials < 1:
        raise ValueError(f"max_trials must be at least 1. Received: max_trials={max_trials}")
    objective = keras_tuner.Objective(SCORE_NAME, direction="max")
    common = dict(objective=objective, directory=str(directory), project_name=PROJECT_NAME, overwrite=overwrite,
                  seed=seed, max_consecutive_failed_trials=1)
    if kind == "random":
        return RandomSearchTuner(hypermodel, max_trials=max_trials, **common)
    if kind == "bayesian":
        return BayesianTuner(hypermodel, max_trials=max_trials, **common)
    tuner = HyperbandTuner(hypermodel, max_epochs=max(max_epochs, 2), **common)
    tuner.oracle.max_trials = max_trials
    return tuner
