"""Shared output: closed-form sizes, a shared head means shared outputs, output-space errors, the recipe."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.cli import main
from mtl_zoo.errors import OptionError
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.vision import vision_conv

ROOT = Path(__file__).resolve().parents[2]
INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("left", "classification", 3), Task("right", "classification", 3), Task("middle", "classification", 3)]
# Closed form for filters=[4], dense_units=[8] on 8x8x1 images:
CONV = 3 * 3 * 1 * 4 + 4  # 1 -> 4 channels, pooled to 4x4x4
DENSE = 4 * 4 * 4 * 8 + 8
HEAD = 8 * 3 + 3


def trunk():
    return vision_conv(INPUTS, filters=[4], dense_units=[8])


@pytest.mark.parametrize(
    "options, parameters",
    [
        ({}, 3 * CONV + DENSE + HEAD),  # default: every block but the last is private; one head
        ({"private_depth": 1, "share_head": True}, 3 * CONV + DENSE + HEAD),
        ({"private_depth": 2}, 3 * (CONV + DENSE) + HEAD),  # only the output layer is shared
        ({"private_depth": 1, "share_head": False}, 3 * CONV + DENSE + 3 * HEAD),
    ],
)
def test_parameter_count_matches_closed_form(options, parameters):
    assert build_network(INPUTS, trunk(), TASKS, sharing="shared_output", **options).count_params() == parameters


def test_shared_head_with_hidden_layers_is_counted_once():
    tasks = [Task(name, "regression", classes=2, head_units=[5]) for name in ("a", "b")]
    network = build_network(INPUTS, trunk(), tasks, sharing="shared_output")
    assert network.count_params() == 2 * CONV + DENSE + (8 * 5 + 5) + (5 * 2 + 2)
    assert {"shared_head_dense_1", "shared_head", "a", "b"} <= {layer.name for layer in network.layers}


def test_tasks_with_the_same_encoder_weights_give_the_same_outputs():
    """Only the encoders are per task: copy one task's encoder into the others and all outputs agree."""
    keras.utils.set_random_seed(1)
    network = build_network(INPUTS, trunk(), TASKS, sharing="shared_output")
    images = np.random.default_rng(0).random((5, 8, 8, 1), dtype="float32")
    before = network.predict({"image": images}, verbose=0)
    assert not np.allclose(before["left"], before["right"])
    for name in ("right", "middle"):
        network.get_layer(f"{name}_block_1").set_weights(network.get_layer("left_block_1").get_weights())
    after = network.predict({"image": images}, verbose=0)
    np.testing.assert_allclose(after["right"], after["left"], rtol=1e-6)
    np.testing.assert_allclose(after["middle"], after["left"], rtol=1e-6)
    np.testing.assert_allclose(after["left"], before["left"], rtol=1e-6)
    np.testing.assert_allclose(after["left"].sum(axis=1), 1.0, rtol=1e-5)  # the shared softmax layer


def test_variable_map_says_encoders_are_private_and_the_top_is_shared():
    model = build_model(INPUTS, trunk(), TASKS, sharing="shared_output")
    names = {task.name for task in TASKS}
    for path, users in model.variable_tasks.items():
        owner = path.split("/")[0]
        expected = names if owner in ("shared_block_2", "shared_head") else {owner.removesuffix("_block_1")}
        assert users == expected, path


def test_shared_head_model_passes_the_contract(tmp_path):
    rng = np.random.default_rng(3)
    features = {"image": rng.random((32, 8, 8, 1), dtype="float32")}
    labels = {task.name: rng.integers(0, 3, 32) for task in TASKS}
    model = build_model(INPUTS, trunk(), TASKS, sharing="shared_output")
    check_model(model, features, labels, tmp_path, expected_parameters=3 * CONV + DENSE + HEAD)


@pytest.mark.parametrize(
    "tasks",
    [
        [Task("a", "classification", 3), Task("b", "binary")],
        [Task("a", "classification", 3), Task("b", "classification", 4)],
        [Task("a", "regression", head_units=[4]), Task("b", "regression")],
    ],
)
def test_a_shared_head_needs_one_output_space(tasks):
    with pytest.raises(OptionError, match=r"same output space .* set share_head: false") as error:
        build_network(INPUTS, trunk(), tasks, sharing="shared_output")
    assert error.value.option == "share_head" and "\n" not in str(error.value)
    assert "a (" in str(error.value) and "b (" in str(error.value)
    build_network(INPUTS, trunk(), tasks, sharing="shared_output", share_head=False)  # fine without


@pytest.mark.parametrize(
    "private_depth, share_head, message",
    [
        (0, True, r"between 1 and 2: .* Received: private_depth=0"),
        (3, True, r"between 1 and 2"),
        (2, False, r"between 1 and 1: .* at least the last block \(share_head is false\)"),
        (True, True, r"Received: private_depth=True"),
    ],
)
def test_private_depth_out_of_range_names_the_option(private_depth, share_head, message):
    with pytest.raises(OptionError, match=message) as error:
        build_network(INPUTS, trunk(), TASKS, sharing="shared_output", private_depth=private_depth,
                      share_head=share_head)
    assert error.value.option == "private_depth"


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir, capsys):
    folder = tmp_path / "run"
    status = main(["train", str(ROOT / "recipes" / "multidigits_shared_output.yaml"), "--output", str(folder),
                   "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, capsys.readouterr()
    metrics = json.loads((folder / "metrics.json").read_text())
    for task in ("left_digit", "right_digit"):
        # Chance is 0.1; one epoch measured 0.75-0.76. Full-accuracy figures: benchmarks/zoo_accuracy.py.
        assert metrics["test"][task]["accuracy"] >= 0.6, metrics["test"]
