"""MTAN: masks in (0, 1), attended features = mask * shared features, against a numpy reference."""

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.cli import main
from mtl_zoo.errors import OptionError
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("digit", "classification", 3), Task("value", "regression")]


def make(**options):
    keras.utils.set_random_seed(0)
    # conv 8x8 -> 4x4x4, conv 4x4 -> 2x2x6, dense 8: every kind of alignment
    trunk = vision_conv(INPUTS, filters=[4, 6], dense_units=[8])
    return build_model(INPUTS, trunk, TASKS, sharing="mtan", **options)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_attention(model, task, index, shared, previous):
    """(mask, attended) of module `index` by numpy, from the shared and previous features."""
    net = model.network
    inputs = shared
    if previous is not None:
        if previous.ndim == 4 and shared.ndim == 2:
            previous = previous.mean(axis=(1, 2))
        elif previous.shape[1:3] != shared.shape[1:3]:  # halving: bilinear resize = 2x2 means
            batch, height, width, channels = previous.shape
            previous = previous.reshape(batch, height // 2, 2, width // 2, 2, channels).mean(axis=(2, 4))
        inputs = np.concatenate([shared, previous], axis=-1)
    kernel, bias = net.get_layer(f"{task}_attention_{index}_dense").get_weights()
    hidden = np.maximum(inputs @ kernel + bias, 0.0)
    kernel, bias = net.get_layer(f"{task}_attention_{index}_mask").get_weights()
    mask = sigmoid(hidden @ kernel + bias)
    return mask, mask * shared


@pytest.mark.parametrize("task", ["digit", "value"])
def test_masks_and_attended_features_match_numpy(task):
    model = make()
    net = model.network
    names = [f"shared_block_{i}" for i in (1, 2, 3)]
    names += [f"{task}_attention_{i}{suffix}" for i in (1, 2, 3) for suffix in ("_mask", "")]
    probe = keras.Model(net.input, [net.get_layer(name).output for name in names])
    images = {"image": np.random.default_rng(0).random((4, 8, 8, 1), dtype="float32")}
    values = dict(zip(names, probe.predict(images, verbose=0)))
    assert [values[f"shared_block_{i}"].shape[1:] for i in (1, 2, 3)] == [(4, 4, 4), (2, 2, 6), (8,)]
    previous = None
    for index in (1, 2, 3):
        shared = values[f"shared_block_{index}"]
        mask, attended = values[f"{task}_attention_{index}_mask"], values[f"{task}_attention_{index}"]
        assert mask.shape == shared.shape
        assert np.all((mask > 0) & (mask < 1))
        np.testing.assert_allclose(attended, mask * shared, rtol=1e-6)
        expected_mask, expected_attended = numpy_attention(model, task, index, shared, previous)
        np.testing.assert_allclose(mask, expected_mask, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(attended, expected_attended, rtol=1e-4, atol=1e-6)
        previous = attended
    np.testing.assert_allclose(model.predict(images, verbose=0)[task], net.predict(images, verbose=0)[task])


def test_the_column_is_shared_and_each_task_owns_its_attention():
    model = make(attention_units=5)
    for path, tasks in model.variable_tasks.items():
        owner = path.split("/")[0]
        if owner.startswith("shared_block_"):
            assert tasks == {"digit", "value"}, path
        else:
            assert tasks == {owner.split("_attention_")[0].split("_head")[0]}, path
    assert model.network.get_layer("digit_attention_2_dense").get_weights()[0].shape == (6 + 4, 5)


def test_blocks_it_cannot_align_give_a_clear_error():
    trunk = Trunk([
        lambda p: keras.layers.Dense(16, name=f"{p}_dense"),
        lambda p: keras.Sequential([keras.layers.Reshape((4, 4, 1)), keras.layers.Conv2D(2, 1)], name=p),
    ])
    with pytest.raises(ValueError, match=r"cannot bring a block output of shape \(None, 16\)"):
        build_model({"x": InputSpec((3,))}, trunk, TASKS, sharing="mtan")


@pytest.mark.parametrize("attention_units", [0, -3, 2.5, True])
def test_bad_attention_units_name_the_option(attention_units):
    with pytest.raises(OptionError, match="attention_units must be a positive integer") as error:
        make(attention_units=attention_units)
    assert error.value.option == "attention_units"


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir):
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "multidigits_mtan.yaml"
    output = io.StringIO()
    with redirect_stdout(output):
        status = main(["train", str(recipe), "--output", str(tmp_path / "run"),
                       "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, output.getvalue()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    accuracies = {task: metrics["test"][task]["accuracy"] for task in ("left_digit", "right_digit")}
    # Chance is 0.1; one epoch measured 0.93. Full-accuracy figures: benchmarks/zoo_accuracy.py.
    assert min(accuracies.values()) >= 0.6, accuracies
