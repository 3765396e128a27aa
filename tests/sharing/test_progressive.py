"""Progressive networks: lateral connections against numpy, closed-form sizes, frozen columns, add_task."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.cli import main
from mtl_zoo.models.growth import add_task
from mtl_zoo.sharing.progressive import LateralConnection
from mtl_zoo.trunks.vision import vision_conv

ROOT = Path(__file__).resolve().parents[2]
INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "classification", 3), Task("b", "binary"), Task("c", "regression")]
# Closed form for filters=[4], dense_units=[8] on 8x8x1 images:
CONV = 3 * 3 * 1 * 4 + 4  # 1 -> 4 channels, pooled to 4x4x4
DENSE = 4 * 4 * 4 * 8 + 8
HEADS = {"a": 8 * 3 + 3, "b": 8 + 1, "c": 8 + 1, "d": 8 * 2 + 2}


def lateral_parameters(num_earlier):
    """Column k's lateral projections: (k * channels) x channels + bias, after each block (4, 8 channels)."""
    return sum(num_earlier * channels * channels + channels for channels in (4, 8)) if num_earlier else 0


def trunk():
    return vision_conv(INPUTS, filters=[4], dense_units=[8])


def images(size, seed=0):
    return {"image": np.random.default_rng(seed).random((size, 8, 8, 1), dtype="float32")}


@pytest.mark.parametrize("shape", [(2, 3, 3, 4), (5, 6)])
def test_lateral_connection_adds_a_projection_of_the_earlier_columns(shape):
    rng = np.random.default_rng(0)
    own, first, second = (rng.normal(size=shape).astype("float32") for _ in range(3))
    layer = LateralConnection(name="lateral")
    output = keras.ops.convert_to_numpy(layer([own, first, second]))
    kernel, bias = (keras.ops.convert_to_numpy(weight) for weight in (layer.kernel, layer.bias))
    assert kernel.shape == (2 * shape[-1], shape[-1])
    expected = own + np.concatenate([first, second], axis=-1) @ kernel + bias
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("num_tasks", [1, 2, 3])
def test_parameter_count_is_one_column_per_task_plus_lateral_projections(num_tasks):
    tasks = TASKS[:num_tasks]
    network = build_network(INPUTS, trunk(), tasks, sharing="progressive")
    expected = sum(CONV + DENSE + HEADS[task.name] + lateral_parameters(k) for k, task in enumerate(tasks))
    assert network.count_params() == expected


def test_later_columns_read_earlier_ones_but_train_only_their_own_weights():
    keras.utils.set_random_seed(0)
    model = build_model(INPUTS, trunk(), TASKS, sharing="progressive")
    # Gradients: every variable is used by exactly one task (its column's), laterals included.
    for path, users in model.variable_tasks.items():
        owner = path.split("/")[0].split("_")[0]
        assert users == {owner}, (path, users)
    # Values: perturbing column a changes the later columns' outputs, not the other way round.
    x = images(4)
    before = outputs(model, x)
    block = model.network.get_layer("a_block_1")
    block.set_weights([weight + 0.5 for weight in block.get_weights()])
    after = outputs(model, x)
    assert all(not np.allclose(before[name], after[name]) for name in ("a", "b", "c"))
    block = model.network.get_layer("c_block_1")
    block.set_weights([weight + 0.5 for weight in block.get_weights()])
    again = outputs(model, x)
    for name in ("a", "b"):
        np.testing.assert_array_equal(again[name], after[name])


def outputs(model, x):
    """The model's outputs on `x`, called eagerly (no predict function to trace)."""
    return {name: keras.ops.convert_to_numpy(value) for name, value in model(x, training=False).items()}


def trained_two_task_model():
    keras.utils.set_random_seed(4)
    model = build_model(INPUTS, trunk(), TASKS[:2], sharing="progressive")
    model.compile(optimizer="adam")
    x = images(64, seed=1)
    rng = np.random.default_rng(2)
    labels = {"a": rng.integers(0, 3, 64), "b": rng.integers(0, 2, 64).astype("float32")}
    model.fit(x, labels, epochs=1, batch_size=16, verbose=0)
    return model


def test_add_task_trains_only_the_new_column_and_keeps_earlier_outputs(tmp_path):
    model = trained_two_task_model()
    x = images(64, seed=3)
    old = outputs(model, x)
    grown = add_task(model, TASKS[2])
    assert grown.task_names == ["a", "b", "c"] and not grown.compiled
    assert grown.count_params() == model.count_params() + CONV + DENSE + HEADS["c"] + lateral_parameters(2)
    trainable_layers = {layer.name for layer in grown.network.layers if layer.trainable_weights}
    assert trainable_layers == {"c_block_1", "c_block_2", "c_lateral_1", "c_lateral_2", "c"}
    # The new task: a learnable target (mean brightness); earlier tasks' labels missing.
    labels = {
        "a": np.full(64, -1),
        "b": np.full(64, np.nan, "float32"),
        "c": x["image"].mean(axis=(1, 2, 3))[:, None] * 4.0,
    }
    grown.compile(optimizer=keras.optimizers.Adam(0.01))
    start = grown.evaluate(x, labels, return_dict=True, verbose=0)["c_loss"]
    np.testing.assert_allclose(outputs(grown, x)["a"], old["a"], rtol=0, atol=1e-6)
    grown.fit(x, labels, epochs=8, batch_size=16, verbose=0)
    end = grown.evaluate(x, labels, return_dict=True, verbose=0)["c_loss"]
    assert end < 0.2 * start, (start, end)
    new = outputs(grown, x)
    for name in ("a", "b"):
        np.testing.assert_allclose(new[name], old[name], rtol=0, atol=1e-6)
    # The model it grew from is untouched and still trainable.
    assert {layer.name for layer in model.network.layers if layer.trainable_weights} >= {"a_block_1", "b_lateral_1"}
    np.testing.assert_array_equal(outputs(model, x)["a"], old["a"])
    # The grown model saves frozen and reloads with the same outputs; it can grow again.
    grown.save(tmp_path / "grown.keras")
    reloaded = keras.models.load_model(tmp_path / "grown.keras")
    assert {layer.name for layer in reloaded.network.layers if layer.trainable_weights} == trainable_layers
    np.testing.assert_allclose(outputs(reloaded, x)["c"], new["c"], atol=1e-6)
    again = add_task(reloaded, Task("d", "multilabel", classes=2))
    assert {layer.name for layer in again.network.layers if layer.trainable_weights} == {
        "d_block_1", "d_block_2", "d_lateral_1", "d_lateral_2", "d"}
    assert tuple(again.network.get_layer("d_lateral_1").kernel.shape) == (3 * 4, 4)
    np.testing.assert_allclose(outputs(again, x)["c"], new["c"], atol=1e-6)


def test_add_task_refuses_a_known_task_and_other_schemes():
    model = build_model(INPUTS, trunk(), TASKS[:2], sharing="progressive")
    with pytest.raises(ValueError, match=r"needs a new task name; the model has \['a', 'b'\]. Received: 'b'"):
        add_task(model, Task("b", "binary"))
    hard = build_model(INPUTS, trunk(), TASKS[:2], sharing="hard", shared_depth=1)
    with pytest.raises(ValueError, match=r"add_task needs a model built with sharing='progressive'"):
        add_task(hard, Task("c", "binary"))


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir, capsys):
    folder = tmp_path / "run"
    status = main(["train", str(ROOT / "recipes" / "multidigits_progressive.yaml"), "--output", str(folder),
                   "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, capsys.readouterr()
    metrics = json.loads((folder / "metrics.json").read_text())
    for task in ("left_digit", "right_digit"):
        # Chance is 0.1; one epoch measured 0.87-0.88. Full-accuracy figures: benchmarks/zoo_accuracy.py.
        assert metrics["test"][task]["accuracy"] >= 0.6, metrics["test"]
