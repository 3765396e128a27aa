"""The vision recipes: a few training steps of each DigitScenes recipe (output shapes, finite losses), one
end-to-end run of digit_scenes_hard through train / evaluate / export with a SavedModel that takes uint8
scenes, and celeb_a_task_tree through the CLI on TFDS mock data."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import yaml

from mtl_zoo.cli import main
from mtl_zoo.data.datasets.celeb_a import ATTRIBUTE_GROUPS
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.registry import DATASETS
from mtl_zoo.training.run import build_model_from_recipe, compile_model

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
SCENE_SHAPES = {"count": (5,), "largest_box": (4,), "segmentation": (48, 48, 11), "distance": (48, 48, 1)}
# Of the test split: the RMSE of predicting the mean distance everywhere, the mean IoU of the mean box
# with the true boxes, and the share of its most frequent count.
DISTANCE_RMSE_OF_THE_MEAN, MEAN_BOX_IOU, MAJORITY_COUNT_SHARE = 0.178, 0.194, 0.268
# Of the test split: the share of background pixels, and the mean IoU of calling every pixel background.
BACKGROUND_SHARE, ALL_BACKGROUND_MEAN_IOU = 0.877, 0.080
SCENE_EPOCHS = 4
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


def served_outputs(served, images) -> dict:
    """Each task's output of the loaded SavedModel's signature for that task, on uint8 `images`."""
    outputs = {}
    for task in SCENE_SHAPES:
        (spec,) = served.signatures[task].structured_input_signature[1].values()
        assert spec.dtype == tf.uint8, (task, spec)
        outputs[task] = served.signatures[task](image=tf.constant(images))[task].numpy()
    return outputs


@pytest.mark.slow
def test_digit_scenes_hard_end_to_end_beats_trivial_predictions_and_serves_uint8(digit_scenes_data_dir, tmp_path):
    """The recipe trained from the CLI (fewer epochs): every task clearly better than a constant prediction;
    `evaluate` reproduces the test metrics; the exported SavedModel takes raw uint8 scenes, one signature per
    task, and gives the outputs of the saved `.keras` model."""
    path = RECIPES / "digit_scenes_hard.yaml"
    run = tmp_path / "run"
    overrides = ["--set", f"data.data_dir={digit_scenes_data_dir}", "--set", f"training.epochs={SCENE_EPOCHS}"]
    assert main(["train", str(path), "--output", str(run), *overrides]) == 0
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["count"]["accuracy"] >= MAJORITY_COUNT_SHARE + 0.3, test
    assert test["largest_box"]["iou"] >= MEAN_BOX_IOU + 0.2, test
    assert test["distance"]["rmse"] <= DISTANCE_RMSE_OF_THE_MEAN / 2, test
    assert test["segmentation"]["mean_iou"] >= ALL_BACKGROUND_MEAN_IOU + 0.05, test
    assert test["segmentation"]["pixel_accuracy"] > BACKGROUND_SHARE, test

    assert main(["evaluate", str(run), "--output", str(tmp_path)]) == 0
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())["metrics"]
    assert evaluation["largest_box"]["iou"] == pytest.approx(test["largest_box"]["iou"], abs=1e-5)

    assert main(["export", str(run), "--output", str(tmp_path / "exported")]) == 0
    served = tf.saved_model.load(str(tmp_path / "exported" / "saved_model"))
    assert set(served.signatures) == {"serving_default", *SCENE_SHAPES}
    source = DATASETS.get("digit_scenes")
    features, _ = next(iter(source.load_split("test", data_dir=str(digit_scenes_data_dir)).batch(6)))
    images = features["image"].numpy()
    assert images.dtype == np.uint8 and images.max() > 1
    expected = tf.keras.models.load_model(run / "model.keras").predict({"image": images}, verbose=0)
    for task, output in served_outputs(served, images).items():
        assert output.shape == (6, *SCENE_SHAPES[task])
        np.testing.assert_allclose(output, expected[task], atol=1e-4)


# Four small conv blocks in place of MobileNetV3Small's four stages, so the recipe's tree applies unchanged.
SMALL_CELEB_A_TRUNK = ["model.trunk=vision_conv", "model.trunk_options.filters=[4,4,4,4]",
                       "model.trunk_options.dense_units=[]", "model.trunk_options.resize_to=[32,32]"]


@pytest.mark.slow
def test_celeb_a_task_tree_trains_and_serves_raw_images_on_mock_data(tmp_path):
    """The committed recipe's 40 tasks and 4-level tree on a small trunk, on TFDS mock data: trains and writes a
    SavedModel that takes raw uint8 face images, one signature per attribute (`evaluate` is tested on smaller
    artifacts: tests/cli/)."""
    run = tmp_path / "run"
    overrides = [arg for value in [*SMALL_CELEB_A_TRUNK, "training.epochs=1", "training.batch_size=4"]
                 for arg in ("--set", value)]
    with tfds.testing.mock_data(num_examples=8, policy=tfds.testing.MockPolicy.USE_CODE):
        assert main(["train", str(RECIPES / "celeb_a_task_tree.yaml"), "--output", str(run), *overrides]) == 0
        test = json.loads((run / "metrics.json").read_text())["test"]
        assert sorted(test) == CELEB_A_TASKS
        assert all(np.isfinite(value) for metrics in test.values() for value in metrics.values())
        images = next(iter(tfds.load("celeb_a", split="test").batch(3)))["image"]
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    assert recipe["model"]["groups"][2][0][0] == "bald" and len(recipe["model"]["groups"]) == 4

    served = tf.saved_model.load(str(run / "saved_model"))  # as `train` exported it (`export` is tested above)
    assert set(served.signatures) == {"serving_default", *CELEB_A_TASKS}
    (spec,) = served.signatures["male"].structured_input_signature[1].values()
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, 218, 178, 3]
    expected = tf.keras.models.load_model(run / "model.keras").predict({"image": images}, verbose=0)
    output = served.signatures["male"](image=images)["male"].numpy()
    assert output.shape == (3, 1)
    np.testing.assert_allclose(output, expected["male"], atol=1e-5)
