"""Mixed precision: every balancer trains in mixed_bfloat16 on the CPU, and loss scaling is exact.

Gradient balancers differentiate each task's loss on its own, so a loss
scale (mixed_float16's dynamic loss scaling) has to be applied to each task's
loss, taken out of the per-task gradients the balancer sees, and put back on
the combined gradient the optimizer unscales. The exactness test runs in
float32 with a `LossScaleOptimizer` whose scale is 1024: one step must move
every weight exactly as the plain optimizer does; a scale left in (or taken
out twice) moves them 1024 times too far (or too little).
"""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo import build_model
from mtl_zoo.distribution.precision import mixed_precision_scope
from mtl_zoo.registry import BALANCERS
from mtl_zoo.trunks.vision import vision_conv

CONTRACT_FILE = Path(__file__).resolve().parents[1] / "test_zoo_contract.py"
REP_GRAD_ROWS = [("mgda", {"rep_grad": True}), ("pcgrad", {"rep_grad": True, "seed": 1})]


def contract_table():
    spec = importlib.util.spec_from_file_location("zoo_contract_rows_for_precision", CONTRACT_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TABLE = contract_table()
BALANCER_ROWS = TABLE.BALANCER_ROWS + REP_GRAD_ROWS
GRADIENT_ROWS = [row for row in BALANCER_ROWS if BALANCERS.get(row[0])(**row[1]).uses_task_gradients
                 or row[1].get("rep_grad")]


def make(balancer, options, policy=None):
    keras.utils.set_random_seed(0)
    with mixed_precision_scope(policy):
        trunk = vision_conv(TABLE.INPUTS, filters=[4], dense_units=[8])
        return build_model(TABLE.INPUTS, trunk, TABLE.TASKS, sharing="hard",
                           balancer=BALANCERS.get(balancer)(**options))


@pytest.fixture(scope="module")
def data():
    return TABLE.data(size=16)


@pytest.mark.parametrize("balancer, options", BALANCER_ROWS, ids=str)
def test_every_balancer_trains_in_mixed_bfloat16(balancer, options, data):
    features, labels = data
    model = make(balancer, options, "mixed_bfloat16")
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(features, labels, batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(values).all() for values in history.values()), history
    conv = next(layer for layer in model.network._flatten_layers() if isinstance(layer, keras.layers.Conv2D))
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"  # computes in bf16, keeps f32 weights
    outputs = model.predict(features, verbose=0)
    assert {str(output.dtype) for output in outputs.values()} == {"float32"}  # heads' outputs stay float32
    assert all(np.isfinite(output).all() for output in outputs.values())


@pytest.mark.parametrize("balancer, options", [("uncertainty", {}), ("mgda", {})], ids=str)
def test_a_mixed_bfloat16_model_round_trips(balancer, options, data, tmp_path):
    features, labels = data
    model = make(balancer, options, "mixed_bfloat16")
    model.compile(optimizer="adam")
    model.fit(features, labels, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    expected, actual = model.predict(features, verbose=0), reloaded.predict(features, verbose=0)
    for task in expected:
        np.testing.assert_array_equal(actual[task], expected[task])


def one_step_weights(balancer, options, optimizer, data):
    features, labels = data
    model = make(balancer, options)
    model.compile(optimizer=optimizer)
    model.fit(features, labels, batch_size=16, epochs=1, verbose=0, shuffle=False)
    return [variable.numpy() for variable in model.trainable_variables]


@pytest.mark.parametrize("balancer, options", GRADIENT_ROWS, ids=str)
def test_loss_scaling_leaves_a_gradient_balancers_step_unchanged(balancer, options, data):
    plain = one_step_weights(balancer, options, keras.optimizers.SGD(0.1), data)
    scaled_optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=1024.0)
    scaled = one_step_weights(balancer, options, scaled_optimizer, data)
    initial = [variable.numpy() for variable in make(balancer, options).trainable_variables]
    for before, expected, actual in zip(initial, plain, scaled):
        step = np.abs(expected - before).max()
        np.testing.assert_allclose(actual - before, expected - before, atol=1e-4 * max(step, 1e-6))


def test_mixed_float16_trains_a_gradient_balancer_with_dynamic_loss_scaling(data):
    features, labels = data
    model = make("pcgrad", {"seed": 1}, "mixed_float16")
    model.compile(optimizer="adam")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # Keras wraps it under mixed_float16
    history = model.fit(features, labels, batch_size=8, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert float(model.optimizer.dynamic_scale) > 1.0  # the loss was scaled while the per-task gradients were taken


def test_train_with_mixed_precision_from_the_command_line(tmp_path):
    import json

    import pandas as pd

    from mtl_zoo.cli import main

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 3))
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(3)})
    frame["price"] = x @ np.array([1.0, -2.0, 0.5])
    frame["clicked"] = (x[:, 0] > 0).astype(int)
    frame["split"] = np.where(np.arange(1500) < 1200, "train", "test")
    frame.to_csv(tmp_path / "shop.csv", index=False)
    (tmp_path / "shop.yaml").write_text("""
name: shop
seed: 1
data: {file: shop.csv, split_column: split, validation_split: null, columns: {x0: numeric, x1: numeric, x2: numeric}}
tasks:
  - {name: price, kind: regression, metrics: [mae]}
  - {name: clicked, kind: binary, metrics: [accuracy]}
model: {trunk: features, trunk_options: {units: [32]}, shared_depth: 1}
balancer: {name: mgda}
training: {epochs: 4, batch_size: 32, learning_rate: 0.01}
""")
    assert main(["train", str(tmp_path / "shop.yaml"), "--mixed-precision", "--output", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["resolved_recipe"]["training"]["mixed_precision"] is True
    assert metrics["test"]["clicked"]["accuracy"] > 0.9
    assert metrics["test"]["price"]["mae"] < 0.5  # labels have a standard deviation of 2.3
    assert metrics["round_trip_max_abs_difference"]["saved_model"] < 1e-5
