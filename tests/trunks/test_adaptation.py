"""Recipes adapt a trunk on the training split only, before building; the option check reads no data."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.errors import DataError
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.registry import DATASETS
from mtl_zoo.training.run import build_model_from_recipe, train_recipe

SOURCE_NAME = "tiny_shops"
BLANK_SOURCE_NAME = "tiny_shops_blank_income"
INPUTS = {
    "income": InputSpec((), feature_type="numeric"),
    "city": InputSpec((), "string", feature_type="categorical"),
}
LOADS = []


def table(split, blank_income=False):
    rng = np.random.default_rng({"train": 0, "test": 1}[split])
    cities = ["oslo", "rome"] if split == "train" else ["oslo", "paris"]  # paris: test split only
    city = rng.choice(cities, 48)
    income = rng.normal(10.0 if split == "train" else 1000.0, 1.0, 48).astype("float32")
    if blank_income:
        income[:] = np.nan
    labels = {"spend": (income / 10.0).astype("float32"), "loyal": (city == "oslo").astype("float32")}
    return tf.data.Dataset.from_tensor_slices(({"income": income, "city": city.astype(object)}, labels))


def load(split, data_dir=None):
    LOADS.append(split)
    return table(split)


for name, loader in ((SOURCE_NAME, load), (BLANK_SOURCE_NAME, lambda split, data_dir=None: table(split, True))):
    if name not in DATASETS:
        DATASETS.register(name, DataSource(
            name=name, description="tiny in-memory tabular test data", inputs=INPUTS,
            labels={"spend": LabelSpec("regression"), "loyal": LabelSpec("binary")},
            splits=("train", "test"), load=loader,
        ))


def recipe(source=SOURCE_NAME):
    return validate_recipe({
        "name": "tiny-shops",
        "data": {"name": source, "validation_split": None},
        "tasks": [{"name": "spend", "kind": "regression"}, {"name": "loyal", "kind": "binary"}],
        "model": {"trunk": "features", "trunk_options": {"units": [8], "embedding_dim": 2}, "shared_depth": 0},
        "training": {"epochs": 1, "batch_size": 16},
    }, source="tiny_shops.yaml")


def test_the_recipe_model_is_adapted_on_the_training_split_only():
    LOADS.clear()
    model = build_model_from_recipe(recipe())
    assert LOADS == ["train"]
    lookup = model.network.get_layer("city_lookup")
    assert sorted(lookup.get_vocabulary()) == ["[UNK]", "oslo", "rome"]
    train_income = next(iter(table("train").batch(48)))[0]["income"].numpy()
    mean = model.network.get_layer("income_normalization").mean.numpy().ravel()
    np.testing.assert_allclose(mean, [train_income.mean()], rtol=1e-5)  # ~10, not the test split's ~1000


def test_the_recipe_standardizes_regression_targets_by_the_training_labels_only():
    LOADS.clear()
    model = build_model_from_recipe(recipe())
    assert LOADS == ["train"]  # one read for the trunk and the targets
    spend = next(iter(table("train").batch(48)))[1]["spend"].numpy().astype("float64")
    scale = model.network.get_layer("spend_target_scale")
    np.testing.assert_allclose(scale.mean.numpy(), [spend.mean()], rtol=1e-5)  # ~1, not the test split's ~100
    np.testing.assert_allclose(scale.std.numpy(), [spend.std()], rtol=1e-4)
    unscaled = recipe()
    unscaled.tasks[0].standardize_target = False
    assert "spend_target_scale" not in {layer.name for layer in build_model_from_recipe(unscaled).network.layers}


def test_the_option_check_build_reads_no_data():
    LOADS.clear()
    model = build_model_from_recipe(recipe(), adapt=False)
    assert LOADS == []
    assert model.network.get_layer("city_lookup").vocabulary_size() == 1  # only the OOV bucket


def test_train_recipe_trains_the_adapted_model_and_scores_unseen_test_categories():
    result = train_recipe(recipe())
    assert set(result.test_metrics) == {"spend", "loyal"}
    assert all(np.isfinite(value) for metrics in result.test_metrics.values() for value in metrics.values())


def test_a_numeric_column_with_no_training_value_stops_with_one_data_error():
    with pytest.raises(DataError) as error:
        build_model_from_recipe(recipe(BLANK_SOURCE_NAME))
    message = str(error.value)
    assert "\n" not in message
    assert f"Data set '{BLANK_SOURCE_NAME}'" in message and "Numeric column 'income'" in message
