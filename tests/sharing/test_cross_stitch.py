"""Cross-stitch: identity units give independent columns, mixing against numpy, near-identity init."""

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_network
from mtl_zoo.cli import main
from mtl_zoo.errors import OptionError
from mtl_zoo.sharing.cross_stitch import CrossStitch
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("digit", "classification", 3), Task("value", "regression"), Task("flag", "binary")]


def network(sharing, **options):
    trunk = vision_conv(INPUTS, filters=[4, 6], dense_units=[8])
    return build_network(INPUTS, trunk, TASKS, sharing=sharing, **options)


def test_identity_units_give_exactly_the_outputs_of_independent_columns():
    keras.utils.set_random_seed(0)
    independent = network("hard", shared_depth=0)
    stitched = network("cross_stitch", self_weight=1.0)
    for layer in independent.layers:
        if layer.weights:
            stitched.get_layer(layer.name).set_weights(layer.get_weights())
    units = [layer for layer in stitched.layers if isinstance(layer, CrossStitch)]
    assert [unit.name for unit in units] == ["cross_stitch_1", "cross_stitch_2", "cross_stitch_3"]
    images = {"image": np.random.default_rng(0).random((5, 8, 8, 1), dtype="float32")}
    expected, outputs = independent.predict(images, verbose=0), stitched.predict(images, verbose=0)
    for task in TASKS:
        np.testing.assert_array_equal(outputs[task.name], expected[task.name])
    # With the default init the columns are mixed, so the outputs differ.
    mixed = network("cross_stitch")
    for layer in independent.layers:
        if layer.weights:
            mixed.get_layer(layer.name).set_weights(layer.get_weights())
    assert not np.allclose(mixed.predict(images, verbose=0)["digit"], expected["digit"])


@pytest.mark.parametrize("shape", [(2, 5, 5, 4), (3, 7)])
def test_mixing_matches_numpy(shape):
    rng = np.random.default_rng(1)
    columns = [rng.normal(size=shape).astype("float32") for _ in range(3)]
    unit = CrossStitch()
    unit([keras.ops.convert_to_tensor(column) for column in columns])  # builds alpha
    alpha = rng.normal(size=(3, 3, shape[-1])).astype("float32")
    unit.alpha.assign(alpha)
    outputs = unit([keras.ops.convert_to_tensor(column) for column in columns])
    stacked = np.stack(columns)  # (K, ..., C)
    expected = np.einsum("ijc,j...c->i...c", alpha, stacked)
    for output, reference in zip(outputs, expected):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(output), reference, rtol=1e-5, atol=1e-6)


def test_units_start_near_identity_per_channel():
    model = network("cross_stitch", self_weight=0.8)
    alpha = model.get_layer("cross_stitch_1").alpha.numpy()
    assert alpha.shape == (3, 3, 4)  # K x K per channel of the first conv block
    expected = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(alpha, np.repeat(expected[:, :, None], 4, axis=2), rtol=1e-6)
    assert model.get_layer("cross_stitch_3").alpha.shape == (3, 3, 8)


def test_a_single_task_keeps_its_features():
    unit = CrossStitch(self_weight=0.5)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(unit([x])[0]), x)


@pytest.mark.parametrize("self_weight", [0.0, 1.5, -0.2, float("nan"), "high"])
def test_bad_self_weight_names_the_option(self_weight):
    with pytest.raises(OptionError, match=r"between 0 \(excluded\) and 1") as error:
        network("cross_stitch", self_weight=self_weight)
    assert error.value.option == "self_weight"


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir):
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "multidigits_cross_stitch.yaml"
    output = io.StringIO()
    with redirect_stdout(output):
        status = main(["train", str(recipe), "--output", str(tmp_path / "run"),
                       "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, output.getvalue()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    accuracies = {task: metrics["test"][task]["accuracy"] for task in ("left_digit", "right_digit")}
    # Chance is 0.1; one epoch measured 0.84-0.88. Full-accuracy figures: benchmarks/zoo_accuracy.py.
    assert min(accuracies.values()) >= 0.6, accuracies
