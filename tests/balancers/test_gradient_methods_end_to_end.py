"""Gradient balancers end to end: the MultiDigits recipe, and `.keras` round trips with their state.

pcgrad, mgda and cagrad train the real recipe through the command line
for one epoch, which must clearly beat chance (0.1) on both digits; full-accuracy
figures come from `benchmarks/zoo_accuracy.py`. Every gradient balancer (and two with
`rep_grad`) trains a tiny two-task model in-process for a few epochs to
finite, falling losses, and its `.keras` round trip restores its
configuration and state (the step counters of the seeded methods), so a
reloaded model resumes exactly.
"""

import io
import json
import math
from contextlib import redirect_stdout
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo.cli import main
from mtl_zoo.models.multi_task_model import MultiTaskModel
from mtl_zoo.registry import BALANCERS
from mtl_zoo.sharing.result import mark_shared_representation
from mtl_zoo.tasks.task import Task

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "multidigits_hard.yaml"
EPOCHS = 1
TASK_NAMES = ("left_digit", "right_digit")


@pytest.mark.slow
@pytest.mark.parametrize("balancer", ["pcgrad", "mgda", "cagrad"])
def test_recipe_clearly_beats_chance_after_one_epoch_through_the_cli(balancer, multi_digits_data_dir, tmp_path):
    folder = tmp_path / balancer
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(["train", str(RECIPE), "--output", str(folder), "--set", f"balancer.name={balancer}",
                       "--set", f"data.data_dir={multi_digits_data_dir}", "--set", f"training.epochs={EPOCHS}"])
    assert status == 0, buffer.getvalue()
    metrics = json.loads((folder / "metrics.json").read_text())
    accuracies = [metrics["test"][name]["accuracy"] for name in TASK_NAMES]
    # Chance is 0.1; one epoch measured 0.94-0.95. Full-accuracy figures: benchmarks/zoo_accuracy.py.
    assert min(accuracies) >= 0.75, accuracies
    history = metrics["history"]
    assert all(math.isfinite(value) for values in history.values() for value in values)
    weights = np.array([history[f"{name}_weight"] for name in TASK_NAMES])
    assert weights.shape == (2, EPOCHS) and np.all(weights > 0)
    reloaded = keras.models.load_model(folder / "model.keras")
    assert type(reloaded.balancer) is BALANCERS.get(balancer)
    if balancer == "pcgrad":
        assert int(reloaded.balancer.step.numpy()) == EPOCHS * math.ceil(metrics["timing"]["train_examples"] / 64)


# === A tiny model: every gradient balancer learns, and round-trips through `.keras` ===

TASKS = [Task("kind", "classification", 3), Task("size", "regression", loss_weight=0.5)]
GRADIENT_METHODS = [("pcgrad", {"seed": 2}), ("mgda", {}), ("cagrad", {"c": 0.4}), ("imtl", {}), ("nash_mtl", {}),
                    ("aligned_mtl", {}), ("upgrad", {"task_gradients": "loop"}), ("graddrop", {"seed": 2}),
                    ("mgda", {"rep_grad": True}), ("pcgrad", {"seed": 2, "rep_grad": True})]
ROW_IDS = [name + ("_rep_grad" if options.get("rep_grad") else "") for name, options in GRADIENT_METHODS]


def tiny_data(size=64):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(size, 5)).astype("float32")
    size_label = (x[:, :1] * 3.0 + x[:, 1:2]).astype("float32")
    size_label[::5] = np.nan
    return {"x": x}, {"kind": np.argmax(x[:, 2:5], axis=1), "size": size_label}


def tiny_model(balancer, options):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((5,), name="x")
    hidden = mark_shared_representation(keras.layers.Dense(16, activation="relu", name="shared")(inputs))
    outputs = {"kind": keras.layers.Dense(3, name="kind")(hidden), "size": keras.layers.Dense(1, name="size")(hidden)}
    model = MultiTaskModel(keras.Model({"x": inputs}, outputs), TASKS, balancer=BALANCERS.get(balancer)(**options))
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    return model


def test_every_gradient_balancer_is_in_the_table():
    # GradNorm balances loss weights from gradient norms: it trains in test_loss_weighting_end_to_end.py.
    registered = {name for name in BALANCERS.names() if BALANCERS.get(name).uses_task_gradients} - {"gradnorm"}
    assert registered <= {name for name, _ in GRADIENT_METHODS}


@pytest.mark.parametrize("balancer, options", GRADIENT_METHODS, ids=ROW_IDS)
def test_tiny_model_learns_and_round_trips_through_keras(balancer, options, tmp_path):
    model = tiny_model(balancer, options)
    features, labels = tiny_data()
    history = model.fit(features, labels, batch_size=16, epochs=6, verbose=0, shuffle=False).history
    assert all(math.isfinite(value) for values in history.values() for value in values)
    for name in ("kind", "size"):
        assert history[f"{name}_loss"][-1] < 0.8 * history[f"{name}_loss"][0], (name, history[f"{name}_loss"])
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(reloaded.balancer) is type(model.balancer)
    assert reloaded.balancer.get_config() == model.balancer.get_config()
    state = {variable.path: variable.numpy() for variable in model.balancer.weights}
    assert sorted(v.path for v in reloaded.balancer.weights) == sorted(state)
    for variable in reloaded.balancer.weights:
        np.testing.assert_array_equal(variable.numpy(), state[variable.path], err_msg=variable.path)
    # Both continue identically (seeded methods draw the same orders and masks).
    logs = model.fit(features, labels, batch_size=16, epochs=1, verbose=0, shuffle=False).history
    reloaded_logs = reloaded.fit(features, labels, batch_size=16, epochs=1, verbose=0, shuffle=False).history
    for key in ("loss", "kind_weight", "size_weight"):  # the next epoch's task weights too
        assert reloaded_logs[key] == pytest.approx(logs[key], rel=1e-5), key
    for original, copy in zip(model.trainable_variables, reloaded.trainable_variables):
        np.testing.assert_allclose(copy.numpy(), original.numpy(), rtol=1e-5, atol=1e-6, err_msg=original.path)
