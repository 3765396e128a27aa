"""Soft sharing: the tie term against numpy, columns private to their tasks, a large tie pulls columns together."""

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
from mtl_zoo.models.sharing_map import sharing_counts
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("digit", "classification", 3), Task("value", "regression"), Task("flag", "binary")]


def make(tie_weight, seed=0):
    keras.utils.set_random_seed(seed)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    model = build_model(INPUTS, trunk, TASKS, sharing="soft", tie_weight=tie_weight)
    # Plain SGD: the tie's gradient 2 * tie_weight * K * (theta_k - mean) shrinks each
    # column's deviation from the mean by (1 - 0.05 * 2 * tie_weight * K) per step.
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    return model


def data(size=64):
    rng = np.random.default_rng(1)
    features = {"image": rng.random((size, 8, 8, 1), dtype="float32")}
    labels = {
        "digit": rng.integers(0, 3, size),
        "value": rng.normal(size=(size, 1)).astype("float32"),
        "flag": rng.integers(0, 2, size).astype("float32"),
    }
    return features, labels


def column_weights(model) -> dict:
    """Task -> its column's trainable weights (numpy), found by block name."""
    blocks = model.network.get_layer("soft_tie_loss").blocks
    return {
        task.name: [
            weight.numpy()
            for block in blocks
            if block.name.startswith(f"{task.name}_block_")
            for weight in block.trainable_weights
        ]
        for task in TASKS
    }


def numpy_tie(model) -> float:
    weights = list(column_weights(model).values())
    return sum(
        float(np.sum((a.astype("float64") - b) ** 2))
        for i in range(len(weights))
        for j in range(i + 1, len(weights))
        for a, b in zip(weights[i], weights[j])
    )


def test_tie_term_is_the_weighted_sum_of_squared_column_differences():
    model = make(tie_weight=0.05)
    logs = model.evaluate(*data(), batch_size=64, return_dict=True, verbose=0)
    expected = 0.05 * numpy_tie(model)
    assert expected > 0
    assert logs["soft_tie_loss"] == pytest.approx(expected, rel=1e-5)
    task_losses = sum(logs[f"{task.name}_loss"] for task in TASKS)
    assert logs["loss"] == pytest.approx(task_losses + logs["soft_tie_loss"], rel=1e-5)


def test_each_column_is_private_to_its_task():
    model = make(tie_weight=1.0)
    columns = {path: tasks for path, tasks in model.variable_tasks.items() if path.startswith("soft_tie_loss/")}
    assert len(columns) == len(TASKS) * 4  # conv kernel+bias, dense kernel+bias per column
    for path, tasks in columns.items():
        owner = path.split("/")[1].split("_block_")[0]
        assert tasks == {owner}, path
    counts = sharing_counts(model.network, model.variable_tasks, model.task_names)
    assert counts["shared"] == 0 and counts["unused"] == 0


def train_columns(tie_weight):
    """(column distance after 4 training steps / distance at initialization, training logs)."""
    model = make(tie_weight, seed=4)
    before = numpy_tie(model)
    history = model.fit(*data(), epochs=1, batch_size=16, verbose=0).history
    return numpy_tie(model) / before, history


def test_a_large_tie_weight_drives_the_columns_together():
    (untied, untied_logs), (tied, _) = train_columns(0.0), train_columns(2.0)
    assert untied_logs["soft_tie_loss"] == [0.0]
    assert untied > 0.9, untied  # without the tie the columns stay apart
    assert tied < 0.05, tied


@pytest.mark.parametrize("tie_weight", [-0.1, float("nan"), "big", True])
def test_bad_tie_weight_names_the_option(tie_weight):
    with pytest.raises(OptionError, match=r"tie_weight must be a finite number >= 0") as error:
        make(tie_weight)
    assert error.value.option == "tie_weight"


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir):
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "multidigits_soft.yaml"
    output = io.StringIO()
    with redirect_stdout(output):
        status = main(["train", str(recipe), "--output", str(tmp_path / "run"),
                       "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, output.getvalue()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    accuracies = {task: metrics["test"][task]["accuracy"] for task in ("left_digit", "right_digit")}
    # Chance is 0.1; one epoch measured 0.84-0.90. Full-accuracy figures: benchmarks/zoo_accuracy.py.
    assert min(accuracies.values()) >= 0.6, accuracies
