"""Validation rows held out of the training split for early stopping: never trained on, never adapted to."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from mtl_zoo.data.batching import EpochOrder
from mtl_zoo.data.held_out import held_out_split, validation_split
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.registry import DATASETS
from mtl_zoo.training.run import build_model_from_recipe, count_examples, load_split, train_recipe

SOURCE_NAME = "tiny_numbered_rows"
NUM_ROWS = 40


def load_numbered(split, data_dir=None):
    """Row i of the training split has features (i, -i); the test split's rows are numbered from 1000."""
    rows = np.arange(NUM_ROWS, dtype="float32") + (1000 if split == "test" else 0)
    features = np.stack([rows, -rows], axis=1)
    return tf.data.Dataset.from_tensor_slices(({"dense_features": features}, {"y": rows % 7}))


if SOURCE_NAME not in DATASETS:
    DATASETS.register(SOURCE_NAME, DataSource(
        name=SOURCE_NAME, description="tiny numbered rows", inputs={"dense_features": InputSpec((2,))},
        labels={"y": LabelSpec("regression")}, splits=("train", "test"), load=load_numbered,
    ))

TRAINING = {"epochs": 2, "batch_size": 8, "early_stopping": {"patience": 1, "validation_fraction": 0.25}}


def registered_recipe():
    return validate_recipe({
        "name": "numbered",
        "data": {"name": SOURCE_NAME, "validation_split": None, "split_seed": 3},
        "tasks": [{"name": "y", "kind": "regression"}],
        "model": {"trunk": "mlp", "trunk_options": {"units": [4]}},
        "training": TRAINING,
    }, source="numbered.yaml")


def file_recipe(folder):
    rows = np.arange(NUM_ROWS)
    pd.DataFrame({"row": rows, "y": rows % 7, "split": np.where(rows < 30, "train", "test")}).to_csv(
        folder / "rows.csv", index=False)
    return validate_recipe({
        "name": "numbered_file",
        "data": {"file": str(folder / "rows.csv"), "split_column": "split", "validation_split": None,
                 "columns": {"row": "numeric"}},
        "tasks": [{"name": "y", "kind": "regression"}],
        "model": {"trunk": "features", "trunk_options": {"units": [4]}},
        "training": TRAINING,
    }, source="numbered_file.yaml")


def row_numbers(batches, column):
    """The sorted row numbers in `batches` (the first feature of a vector input)."""
    values = np.concatenate([features[column].numpy() for features, _ in batches])
    return sorted(int(value) for value in (values[:, 0] if values.ndim == 2 else values))


@pytest.mark.parametrize("kind", ["registered", "file"])
def test_held_out_rows_are_disjoint_from_the_training_rows_and_drawn_the_same_every_time(tmp_path, kind):
    recipe = registered_recipe() if kind == "registered" else file_recipe(tmp_path)
    column, num_train = ("dense_features", NUM_ROWS) if kind == "registered" else ("row", 30)
    held = held_out_split(recipe)
    assert held == "train[0.25 held out]" and validation_split(recipe) == held
    validation = row_numbers(load_split(recipe, held), column)
    training = row_numbers(load_split(recipe, "train"), column)
    shuffled = row_numbers(load_split(recipe, "train", training=True, order=EpochOrder(recipe.seed)), column)
    assert len(validation) == round(0.25 * num_train) and count_examples(recipe, held) == len(validation)
    assert training == shuffled and count_examples(recipe, "train") == len(training)
    assert not set(validation) & set(training)
    assert sorted(validation + training) == list(range(num_train))
    assert validation == row_numbers(load_split(recipe, held), column)  # a fixed, seeded draw
    assert validation != list(range(len(validation)))  # drawn at random, not the first rows


def test_the_trunk_adapts_to_the_training_rows_only_and_the_run_validates_on_the_held_out_rows():
    recipe = registered_recipe()
    training = row_numbers(load_split(recipe, "train"), "dense_features")
    model = build_model_from_recipe(recipe)
    mean = model.network.get_layer("dense_features_normalization").mean.numpy().ravel()
    np.testing.assert_allclose(mean, [np.mean(training), -np.mean(training)], rtol=1e-5)
    assert abs(np.mean(training) - np.mean(range(NUM_ROWS))) > 1e-3  # the held-out rows would move it

    result = train_recipe(recipe)
    assert result.train_examples == len(training)
    assert result.early_stopping["validation_split"] == "train[0.25 held out]"
    assert len(result.history["val_loss"]) == len(result.history["loss"])


def test_train_on_a_file_without_a_validation_split_stops_on_held_out_rows_and_records_it(tmp_path, capsys):
    import json

    import yaml

    from mtl_zoo.cli import main

    recipe = file_recipe(tmp_path)
    document = recipe.model_dump(mode="json")
    document["training"].update(epochs=3, early_stopping={"patience": 1, "monitor": "val_y_mae"})
    (tmp_path / "rows.yaml").write_text(yaml.safe_dump(document))
    assert main(["train", str(tmp_path / "rows.yaml"), "--output", str(tmp_path / "run")]) == 0
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())["early_stopping"]
    assert {key: record[key] for key in ("monitor", "mode", "patience", "validation_split")} == {
        "monitor": "val_y_mae", "mode": "min", "patience": 1, "validation_split": "train[0.1 held out]"}
    assert 1 <= record["best_epoch"] <= 3 and record["stopped_epoch"] in (None, record["best_epoch"] + 1)
    assert "Early stopping on val_y_mae (train[0.1 held out] split, patience 1)" in capsys.readouterr().out
