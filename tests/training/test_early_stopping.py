"""Early stopping: stops once the validation metric worsens, keeps the best epoch's weights, survives a resume.

The data set's validation labels follow a gentler slope than its training
labels, so as the model fits the training slope the validation loss of `y`
first falls, then rises: a run stops `patience` epochs after its best one.
"""

import numpy as np
import pytest
import tensorflow as tf

import keras

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.registry import DATASETS
from mtl_zoo.training.checkpoints import RunCheckpoints
from mtl_zoo.training.run import train_recipe
from mtl_zoo.training.score import SCORE_NAME, TaskObjective

SOURCE_NAME = "tiny_slope_drift"
SLOPES = {"train": 3.0, "validation": 1.0, "test": 1.0}
SIZES = {"train": 96, "validation": 32, "test": 32}


def load_drift(split, data_dir=None):
    rng = np.random.default_rng(list(SLOPES).index(split))
    x = rng.normal(size=(SIZES[split], 2)).astype("float32")
    labels = {"y": (SLOPES[split] * x[:, 0]).astype("float32"), "flag": (x[:, 1] > 0).astype("float32")}
    return tf.data.Dataset.from_tensor_slices(({"dense_features": x}, labels))


if SOURCE_NAME not in DATASETS:
    DATASETS.register(SOURCE_NAME, DataSource(
        name=SOURCE_NAME, description="tiny in-memory test data whose validation labels drift",
        inputs={"dense_features": InputSpec((2,), feature_type="numeric")},
        labels={"y": LabelSpec("regression"), "flag": LabelSpec("binary")},
        splits=tuple(SLOPES), load=load_drift,
    ))


def recipe(data=None, **early_stopping):
    return validate_recipe({
        "name": "drift",
        "data": {"name": SOURCE_NAME, **(data or {})},
        "tasks": [{"name": "y", "kind": "regression", "metrics": ["mae"]},
                  {"name": "flag", "kind": "binary", "metrics": ["accuracy"]}],
        "model": {"trunk": "mlp", "trunk_options": {"units": [8]}, "shared_depth": 1},
        "training": {"epochs": 12, "batch_size": 16, "learning_rate": 0.01,
                     "early_stopping": {"patience": 2, **early_stopping}},
    }, source="drift.yaml")


class EpochWeights(keras.callbacks.Callback):
    """Keeps the model's weights at the end of every epoch (it runs after the recipe's callbacks)."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


class Killed(Exception):
    pass


class KillAfterEpoch(keras.callbacks.Callback):
    """Ends the process's training after `epoch` (zero-based), once that epoch's checkpoint is saved."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Killed()


def assert_same_weights(actual, expected, exact=True):
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        if exact:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def stopped_run():
    """The `val_y_loss` run: its recipe, its result and its weights after every epoch."""
    stopping_recipe = recipe(monitor="val_y_loss")
    epochs = EpochWeights()
    return stopping_recipe, train_recipe(stopping_recipe, callbacks=[epochs]), epochs.weights


def test_a_validation_loss_that_rises_after_its_best_epoch_stops_the_run_with_that_epochs_weights(stopped_run):
    _, result, epoch_weights = stopped_run
    losses = result.history["val_y_loss"]
    best = int(np.argmin(losses))
    assert 0 < best < len(losses) - 1, losses  # it improved, then worsened
    assert len(losses) == best + 3 < 12, losses  # stopped after 2 (patience) epochs without improvement
    assert all(losses[epoch] > losses[best] for epoch in range(best + 1, len(losses)))
    assert result.early_stopping == {
        "monitor": "val_y_loss", "mode": "min", "patience": 2, "min_delta": 0.0, "best_epoch": best + 1,
        "best_value": pytest.approx(losses[best]), "stopped_epoch": best + 3, "validation_split": "validation",
    }
    assert len(epoch_weights) == len(losses)
    assert_same_weights(result.model.get_weights(), epoch_weights[best])
    assert any(not np.array_equal(final, last) for final, last in zip(result.model.get_weights(), epoch_weights[-1]))
    assert result.epochs_trained == best + 3


def test_the_default_monitor_is_the_multi_task_score_tune_maximizes():
    default = recipe()
    assert default.training.early_stopping.monitor == SCORE_NAME
    result = train_recipe(default)
    objective = TaskObjective.from_recipe(default)
    history = result.history
    expected = [objective.score_logs({key: values[epoch] for key, values in history.items()})
                for epoch in range(len(history["loss"]))]
    assert history[SCORE_NAME] == pytest.approx(expected)
    assert result.early_stopping["monitor"] == SCORE_NAME and result.early_stopping["mode"] == "max"
    assert result.early_stopping["best_epoch"] == int(np.argmax(expected)) + 1
    assert result.early_stopping["best_value"] == pytest.approx(max(expected))


def test_a_resumed_run_keeps_the_best_weights_trained_before_it_was_killed(tmp_path, stopped_run):
    stopping_recipe, whole, _ = stopped_run
    best, stopped = whole.early_stopping["best_epoch"], whole.early_stopping["stopped_epoch"]

    def checkpoints(model):
        return RunCheckpoints(tmp_path, model, "drift")

    with pytest.raises(Killed):  # killed one epoch after the best, before patience runs out
        train_recipe(stopping_recipe, callbacks=[KillAfterEpoch(best)], checkpoints=checkpoints)
    resumed = train_recipe(stopping_recipe, checkpoints=checkpoints)
    assert resumed.epochs_trained == stopped - (best + 1)  # this process never trained the best epoch
    assert resumed.early_stopping == whole.early_stopping
    assert resumed.history["val_y_loss"] == pytest.approx(whole.history["val_y_loss"], rel=1e-5)
    assert_same_weights(resumed.model.get_weights(), whole.model.get_weights(), exact=False)

    again = train_recipe(stopping_recipe, checkpoints=checkpoints)  # resumed after the stop: trains nothing more
    assert again.epochs_trained == 0 and len(again.history["loss"]) == stopped
    assert_same_weights(again.model.get_weights(), resumed.model.get_weights())


def test_an_unknown_monitor_is_refused_in_one_line_naming_the_keys():
    with pytest.raises(RecipeError) as error:
        recipe(monitor="val_flag_auc")
    assert str(error.value) == (
        "drift.yaml: training.early_stopping.monitor: no such validation log; allowed: multi_task_score, val_loss, "
        "val_y_loss, val_y_mae, val_flag_loss, val_flag_accuracy. Received: 'val_flag_auc'"
    )
