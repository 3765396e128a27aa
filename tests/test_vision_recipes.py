"""The DigitScenes recipes: a few training steps each (output shapes, finite losses)."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import yaml

from mtl_zoo.cli import main
from mtl_zoo.data.celeb_a import ATTRIBUTE_GROUPS
from mtl_zoo.recipes import load_recipe
from mtl_zoo.registry import DATASETS
from mtl_zoo.training import build_model_from_recipe, compile_model

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
SCENE_SHAPES = {"count": (5,), "largest_box": (4,), "segmentation": (48, 48, 11), "distance": (48, 48, 1)}
# Of the test split: the RMSE of predicting the mean distance everywhere, the mean IoU of the mean box
# with the true boxes, and the share of its most frequent count.
DISTANCE_RMSE_OF_THE_MEAN, MEAN_BOX_IOU, MAJORITY_COUNT_SHARE = 0.178, 0.194, 0.268
CELEB_A_TASKS = sorted(name for names in ATTRIBUTE_GROUPS.values() for name in names)


def train_a_few_steps(recipe, batch_size: int, steps: int = 2):
    """Builds and compiles the recipe's model, fits `steps` batches of its training split; returns
    (model, history, one batch of features, predictions on it)."""
    model = build_model_from_recipe(recipe)
    compile_model(model, recipe.training)
    source = DATASETS.get(recipe.data.name)
    batches = source.load_split("train", data_dir=recipe.data.data_dir).take(batch_size * steps).batch(batch_size)
    history = model.fit(batches, epochs=1, verbose=0).history
    features, _ = next(iter(batches))
    return model, history, features, model.predict(features, verbose=0)


@pytest.mark.parametrize("name", ["digit_scenes_hard", "digit_scenes_mtan"])
def test_digit_scenes_recipe_trains_a_few_steps(name, digit_scenes_data_dir):
    recipe = load_recipe(RECIPES / f"{name}.yaml", [f"data.data_dir={digit_scenes_data_dir}"])
    model, history, features, predictions = train_a_few_steps(recipe, batch_size=8)
    assert features["image"].dtype == tf.uint8
    assert {task: predictions[task].shape[1:] for task in SCENE_SHAPES} == SCENE_SHAPES
    assert all(np.isfinite(history[f"{task}_loss"]).all() for task in SCENE_SHAPES)
    np.testing.assert_allclose(predictions["segmentation"].sum(-1), 1.0, atol=1e-4)  # softmax per pixel
    assert ((predictions["largest_box"] >= 0) & (predictions["largest_box"] <= 1)).all()
