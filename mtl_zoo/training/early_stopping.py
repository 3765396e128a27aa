"""Early stopping on a validation metric, with the best epoch's weights restored.

A recipe's `training.early_stopping: {patience, monitor, min_delta,
validation_fraction}` ends training once `monitor` has not improved by more
than `min_delta` for `patience` epochs, and leaves the model with the weights
of its best epoch; `training.epochs` is then the most it trains.

`monitor` defaults to `multi_task_score`: the score `mtl-zoo tune` maximizes
(`mtl_zoo.training.score.TaskObjective` of the recipe's `tuning.objective`,
from each task's validation metric and its declared direction), written into
the epoch logs by a `ScoreLogger` that runs just before the stopper. It may
instead name a logged validation value
(`mtl_zoo.recipes.validation.validation_logs`): `val_loss`,
`val_<task>_loss` or `val_<task>_<metric>`, watched in the direction the
metric declares (`lower_is_better`); recipe validation refuses any other
name. A recipe without a validation split validates on rows held out of its
training split (`mtl_zoo.data.held_out`).

`RestoreBestEarlyStopping` is Keras' `EarlyStopping(restore_best_weights=True)`
whose state (best value and epoch, epochs waited, stopped epoch and the best
weights) lives in variables (`EarlyStoppingState`) that the run's checkpoints
save with the model: a resumed run continues to wait from where it was and
still ends with the best weights, even when the best epoch was trained by
the process that was killed. The weights are restored once, by
`restore_best()` after the last `fit` (a resumed run trains in several).

Example:

>>> from mtl_zoo.recipes.loading import load_recipe
>>> recipe = load_recipe("recipes/loans_mmoe.yaml", ["training.early_stopping={patience: 3}"])
>>> recipe.training.early_stopping.monitor, monitor_mode(recipe)
('multi_task_score', 'max')
>>> rmse = "training.early_stopping={patience: 3, monitor: val_interest_rate_rmse}"
>>> monitor_mode(load_recipe("recipes/loans_mmoe.yaml", [rmse]))
'min'
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.validation import validation_logs
from mtl_zoo.training.relative_performance import lower_is_better
from mtl_zoo.training.score import SCORE_NAME, ScoreLogger, TaskObjective

FIELD = "training.early_stopping.monitor"


def monitor_mode(recipe) -> str:
    """"max" or "min": the direction the recipe's monitor improves in, as its metric declares.

    Raises:
        RecipeError: the monitor is not a logged value (recipe validation
            refuses it first), or its metric declares no direction.
    """
    monitor = recipe.training.early_stopping.monitor
    if monitor == SCORE_NAME:
        return "max"
    logs = validation_logs(recipe)
    if monitor not in logs:
        raise RecipeError(recipe.source, FIELD, f"no such validation log; allowed: {SCORE_NAME}, "
                          f"{', '.join(logs)}. Received: {monitor!r}")
    try:
        return "min" if lower_is_better(logs[monitor]) else "max"
    except ValueError as error:
        raise RecipeError(recipe.source, FIELD, " ".join(str(error).split())) from None


def monitor_objective(recipe) -> Optional[TaskObjective]:
    """The `TaskObjective` the monitor scores (`multi_task_score`), or None when it is a logged value.

    Raises:
        RecipeError: the recipe's `tuning.objective` does not fit its tasks,
            or a scored metric declares no direction.
    """
    if recipe.training.early_stopping.monitor != SCORE_NAME:
        return None
    objective = TaskObjective.from_recipe(recipe)
    try:
        objective.directions()
    except ValueError as error:
        raise RecipeError(recipe.source, FIELD, " ".join(str(error).split())) from None
    return objective


def check_monitor(recipe) -> None:
    """Raises the `RecipeError` `recipe_early_stopping` would for the monitor, before any model or data exists."""
    if recipe.training.early_stopping is not None:
        monitor_mode(recipe)
        monitor_objective(recipe)


class EarlyStoppingState(tf.Module):
    """Early stopping's state as variables, so a run's checkpoints save and restore it.

    Args:
        weights: list of arrays. The model's weights (`model.get_weights()`),
            giving the shapes and dtypes of the best weights kept.
    """

    def __init__(self, weights: list):
        super().__init__(name="early_stopping")
        self.best_value = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)  # -1: no epoch yet
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.stopped_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # 0: not stopped (Keras' convention)
        self.best_weights = [tf.Variable(value, trainable=False) for value in weights]


class RestoreBestEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping(restore_best_weights=True)` whose state survives a resumed run.

    The state is read from `state` when each `fit` begins and written back
    at every epoch end, before the run's checkpoint callback saves it.
    `fit` does not restore the weights at its end; `restore_best()` does,
    once training is over.

    Args:
        model: `MultiTaskModel`. The model it watches (built).
        monitor: str. The log key watched.
        mode: str. "max" or "min".
        patience: int. Epochs without improvement before training stops.
        min_delta: float. Smallest change that counts as an improvement.
            Defaults to 0.
        objective: `TaskObjective` or None. With `monitor` "multi_task_score",
            the score a `ScoreLogger` (in `callbacks()`) logs first.
            Defaults to None.

    Example:

    >>> stopping = RestoreBestEarlyStopping(model, "val_loss", "min", patience=2)  # doctest: +SKIP
    >>> model.fit(train, validation_data=validation, epochs=20, callbacks=stopping.callbacks())  # doctest: +SKIP
    >>> stopping.restore_best()  # doctest: +SKIP
    """

    def __init__(self, model, monitor: str, mode: str, patience: int, min_delta: float = 0.0, objective=None):
        super().__init__(monitor=monitor, mode=mode, patience=patience, min_delta=min_delta,
                         restore_best_weights=True)
        self.set_model(model)
        self.objective = objective
        self.state = EarlyStoppingState(model.get_weights())

    def callbacks(self) -> list:
        """The callbacks to pass to `fit`: a `ScoreLogger` when the monitor is the multi-task score, then this."""
        return [self] if self.objective is None else [ScoreLogger(self.objective), self]

    @property
    def stopped(self) -> bool:
        """Whether training was stopped (in this process or before a resume)."""
        return int(self.state.stopped_epoch.numpy()) > 0

    def on_train_begin(self, logs=None):
        state = self.state
        self.wait = int(state.wait.numpy())
        self.stopped_epoch = int(state.stopped_epoch.numpy())
        best_epoch = int(state.best_epoch.numpy())
        if best_epoch < 0:
            self.best, self.best_epoch, self.best_weights = None, 0, None
        else:
            self.best, self.best_epoch = float(state.best_value.numpy()), best_epoch
            self.best_weights = state.best_weights

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        state = self.state
        if self.best_weights is not None and self.best_weights is not state.best_weights:  # a new best
            for variable, value in zip(state.best_weights, self.best_weights):
                variable.assign(value)
            self.best_weights = state.best_weights
        if self.best is not None:
            state.best_value.assign(float(self.best))
            state.best_epoch.assign(self.best_epoch)
        state.wait.assign(self.wait)
        state.stopped_epoch.assign(self.stopped_epoch)

    def on_train_end(self, logs=None):
        """Leaves the weights as they are: a resumed run's first `fit` is not its last (see `restore_best`)."""

    def restore_best(self) -> None:
        """Sets the model's weights to those of the best epoch seen (no change if no epoch was scored)."""
        if int(self.state.best_epoch.numpy()) >= 0:
            self.model.set_weights([variable.numpy() for variable in self.state.best_weights])

    def record(self) -> dict:
        """What `metrics.json` keeps under `early_stopping`; epochs count from 1, as the progress lines do.

        `best_epoch` is the epoch whose weights the model ends with,
        `stopped_epoch` the last epoch trained when patience ran out (None
        when training ran all its epochs).
        """
        best_epoch = int(self.state.best_epoch.numpy())
        stopped = int(self.state.stopped_epoch.numpy())
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "patience": self.patience,
            "min_delta": abs(self.min_delta),
            "best_epoch": best_epoch + 1 if best_epoch >= 0 else None,
            "best_value": float(self.state.best_value.numpy()) if best_epoch >= 0 else None,
            "stopped_epoch": stopped + 1 if stopped > 0 else None,
        }


def recipe_early_stopping(recipe, model) -> Optional[RestoreBestEarlyStopping]:
    """The recipe's `training.early_stopping` as a `RestoreBestEarlyStopping` for `model`, or None without one.

    Raises:
        RecipeError: the monitor's direction is unknown (see `monitor_mode`,
            `monitor_objective`).
    """
    stopping = recipe.training.early_stopping
    if stopping is None:
        return None
    return RestoreBestEarlyStopping(model, stopping.monitor, monitor_mode(recipe), stopping.patience,
                                    min_delta=stopping.min_delta, objective=monitor_objective(recipe))


def describe(record: dict, epochs: int) -> str:
    """One line saying how a run's early stopping ended, from its `record()`.

    Example:

    >>> describe({"monitor": "val_loss", "patience": 2, "best_epoch": 3, "best_value": 0.5, "stopped_epoch": 5,
    ...           "validation_split": "validation"}, 20)
    'Early stopping on val_loss (validation split, patience 2): stopped after epoch 5 of 20; kept the weights of epoch 3 (val_loss 0.5)'
    """
    stopped = (f"stopped after epoch {record['stopped_epoch']} of {epochs}" if record["stopped_epoch"]
               else f"trained all {epochs} epochs")
    best = (f"kept the weights of epoch {record['best_epoch']} ({record['monitor']} {record['best_value']:.4g})"
            if record["best_epoch"] else "no epoch was scored")
    return (f"Early stopping on {record['monitor']} ({record['validation_split']} split, patience "
            f"{record['patience']}): {stopped}; {best}")
