"""train_recipe: a recipe over a small in-memory data set; bad labels stop it with one line."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.errors import DataError
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.registry import DATASETS
from mtl_zoo.training.run import train_recipe

SOURCE_NAME = "tiny_digit_flags"


def load_tiny(split, data_dir=None):
    rng = np.random.default_rng({"train": 0, "test": 1}[split])
    images = rng.random((64, 6, 6, 1), dtype="float32")
    digit = (images.mean(axis=(1, 2, 3)) * 6).astype("int32") % 3
    if split == "test":
        digit[7] = 12  # a class index no 3-class task can have
    flag = (images[:, 0, 0, 0] > 0.5).astype("float32")
    return tf.data.Dataset.from_tensor_slices(({"image": images}, {"digit": digit, "flag": flag}))


if SOURCE_NAME not in DATASETS:
    DATASETS.register(SOURCE_NAME, DataSource(
        name=SOURCE_NAME, description="tiny in-memory test data", inputs={"image": InputSpec((6, 6, 1))},
        labels={"digit": LabelSpec("classification", 3, "-1"), "flag": LabelSpec("binary")},
        splits=("train", "test"), load=load_tiny,
    ))


def recipe(**training):
    return validate_recipe({
        "name": "tiny",
        "data": {"name": SOURCE_NAME, "validation_split": None},
        "tasks": [{"name": "digit", "kind": "classification", "classes": 3}, {"name": "flag", "kind": "binary"}],
        "model": {"trunk": "vision_conv", "trunk_options": {"filters": [4], "dense_units": [8]}, "shared_depth": 1},
        "training": {"epochs": 2, "batch_size": 16, **training},
    }, source="tiny.yaml")


def test_bad_test_labels_stop_with_a_one_line_data_error():
    with pytest.raises(DataError) as error:
        train_recipe(recipe())
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        f"Data set '{SOURCE_NAME}' (recipe tiny.yaml): Task digit has a label that cannot belong to it: "
        "class indices must be below classes=3 (-1 marks a missing label)"
    )


def test_trains_with_the_recipe_optimizer_and_reports_per_task_metrics():
    good = recipe(optimizer="sgd", learning_rate=0.05)
    good.data.test_split = "train"
    result = train_recipe(good)
    assert type(result.model.optimizer).__name__ == "SGD"
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.05)
    assert set(result.test_metrics) == {"digit", "flag"}
    assert set(result.test_metrics["flag"]) == {"loss", "accuracy", "auc"}
    assert len(result.history["loss"]) == 2


def test_several_steps_per_execution_still_stop_on_a_bad_training_label():
    bad_training = recipe(steps_per_execution=3)  # 4 steps per epoch: the bad batch runs inside one execution
    bad_training.data.train_split = "test"
    with pytest.raises(DataError, match=r"Task digit has a label that cannot belong to it"):
        train_recipe(bad_training)


def test_the_recipe_sets_steps_per_execution():
    good = recipe(steps_per_execution=3)
    good.data.test_split = "train"
    assert train_recipe(good).model.steps_per_execution == 3


def test_a_resumed_run_reports_the_speed_of_the_epochs_it_trained(tmp_path):
    """Resumed after epoch 1 of 3 (or 2 of its 4 batches into epoch 3), the run trains 2 (or 0.5) epochs itself."""
    import json

    from mtl_zoo.training.checkpoints import STATE_FILE, RunCheckpoints

    def run(epochs):
        good = recipe(epochs=epochs)
        good.data.test_split = "train"
        return train_recipe(good, checkpoints=lambda model: RunCheckpoints(tmp_path, model, "tiny"))

    fresh = run(1)
    assert fresh.epochs_trained == 1.0
    resumed = run(3)
    assert len(resumed.history["loss"]) == 3 and resumed.epochs_trained == 2.0
    assert resumed.examples_per_second == pytest.approx(2 * 64 / resumed.train_seconds)

    state = json.loads((tmp_path / STATE_FILE).read_text())
    state.update(epoch=2, step=2, history={key: values[:2] for key, values in state["history"].items()})
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    mid_epoch = run(3)
    assert mid_epoch.epochs_trained == 0.5  # the last 2 of epoch 3's 4 batches
    assert mid_epoch.examples_per_second == pytest.approx(0.5 * 64 / mid_epoch.train_seconds)
