"""Training on 2 logical CPU devices equals training on one, for every balancer and sharing scheme.

Each row of the zoo contract table (`tests/test_zoo_contract.py`: every
registered balancer on hard sharing, and every sharing scheme's first row
with fixed weights) trains 1 epoch of 2 global batches, shuffled by the
epoch-keyed order training uses (`EpochOrder`), once on one device and once
under `MirroredStrategy` on two. Labels are missing unevenly across the
replicas (one task's observed labels of a batch all sit on one replica),
the case where per-replica means would give wrong gradients. Weights must
agree within 1e-4 of their largest value and every per-task loss (and the
total, auxiliary terms such as soft sharing's tie included) within 1e-4
relative. Most rows run eagerly (the same `strategy.run` and cross-replica
reductions, without tracing a graph per model); the rows in `GRAPH_ROWS`
also run as compiled graphs, as `fit` does by default. Adam's epsilon is
raised above float32 noise so that gradients that are zero up to rounding do
not turn into full-size steps. Logical devices must be configured before
TensorFlow starts, so the comparison runs in a fresh process (this file,
run as a script).
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if __name__ == "__main__":  # before anything starts TensorFlow's devices
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                               [tf.config.LogicalDeviceConfiguration()] * 2)

GLOBAL_BATCH = 10  # 5 examples per replica
NUM_EXAMPLES = 20  # 2 steps per epoch
EPOCHS = 1
CONTRACT_FILE = Path(__file__).resolve().parents[1] / "test_zoo_contract.py"
EXTRA_BALANCERS = [("mgda", {"rep_grad": True}), ("pcgrad", {"rep_grad": True})]  # the representation-gradient rule
# Balancer / scheme rows also compared as compiled graphs: loss weighting, a gradient balancer, an auxiliary loss.
GRAPH_ROWS = ("balancer fixed {}", "balancer mgda {}", "sharing soft {'tie_weight': 0.01}")
WEIGHT_TOLERANCE = 1e-4
LOSS_TOLERANCE = 1e-4


def contract_table():
    spec = importlib.util.spec_from_file_location("zoo_contract_rows", CONTRACT_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row_names():
    """`(row id, sharing, options, balancer, balancer options)` for every compared model."""
    table = contract_table()
    rows, seen = [], set()
    for balancer, options in table.BALANCER_ROWS + EXTRA_BALANCERS:
        if (balancer, options.get("rep_grad", False)) not in seen:  # one row per balancer and update rule
            seen.add((balancer, options.get("rep_grad", False)))
            rows.append((f"balancer {balancer} {options}", "hard", {}, balancer, options))
    for sharing, options, _ in table.SHARING_ROWS:
        if sharing not in seen:
            seen.add(sharing)
            rows.append((f"sharing {sharing} {options}", sharing, options, "fixed", {}))
    return rows


def unevenly_missing_data():
    rng = np.random.default_rng(11)
    images = rng.random((NUM_EXAMPLES, 8, 8, 1), dtype="float32")
    labels = {
        "digit": rng.integers(0, 3, NUM_EXAMPLES),
        "flag": rng.integers(0, 2, NUM_EXAMPLES).astype("float32"),
        "tags": rng.integers(0, 2, (NUM_EXAMPLES, 2)).astype("float32"),
        "value": rng.normal(size=(NUM_EXAMPLES, 2)).astype("float32"),
    }
    labels["digit"][[1, 2, 8, 13]] = -1
    labels["flag"][[1, 2, 3, 4, 9, 15]] = np.nan
    labels["value"][4:9] = np.nan
    labels["value"][14:] = np.nan
    labels["tags"][::3, 1] = np.nan
    return images, labels


def make_balancer(name, options):
    from mtl_zoo.registry import BALANCERS

    return BALANCERS.get(name)(**options)


def train(strategy, row, images, labels, run_eagerly: bool):
    import keras
    import tensorflow as tf

    from mtl_zoo import build_model
    from mtl_zoo.data.batching import EpochOrder, in_memory_batches

    table = contract_table()
    _, sharing, options, balancer, balancer_options = row
    with strategy.scope():
        keras.utils.set_random_seed(3)
        trunk = table.vision_conv(table.INPUTS, filters=[4], dense_units=[8])
        model = build_model(table.INPUTS, trunk, table.TASKS, sharing=sharing,
                            balancer=make_balancer(balancer, balancer_options), **options)
        model.compile(optimizer=keras.optimizers.Adam(0.01, epsilon=1e-4), run_eagerly=run_eagerly)
    order = EpochOrder(seed=5)
    examples = tf.data.Dataset.from_tensor_slices(({"image": images}, labels))
    batches = in_memory_batches(examples, GLOBAL_BATCH, shuffle_buffer=NUM_EXAMPLES, order=order)
    history = model.fit(batches, epochs=EPOCHS, verbose=0, shuffle=False, callbacks=[order.callback()]).history
    weights = {variable.path: np.asarray(variable.numpy()) for variable in model.trainable_variables}
    return weights, {name: [float(value) for value in values] for name, values in history.items()}


def row_id(name: str, run_eagerly: bool) -> str:
    return name if run_eagerly else f"{name} graph"


def compared_ids():
    """Every row eagerly, and the `GRAPH_ROWS` as graphs too."""
    return [row[0] for row in row_names()] + [row_id(name, False) for name in GRAPH_ROWS]


def relative_difference(first, second) -> float:
    scale = max(float(np.max(np.abs(first))), 1e-6)
    return float(np.max(np.abs(np.subtract(first, second)))) / scale


def compare_in_this_process():
    import tensorflow as tf

    images, labels = unevenly_missing_data()
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    runs = [(row, True) for row in row_names()] + [(row, False) for row in row_names() if row[0] in GRAPH_ROWS]
    for row, run_eagerly in runs:
        single_weights, single_logs = train(tf.distribute.OneDeviceStrategy("/cpu:0"), row, images, labels, run_eagerly)
        mirrored_weights, mirrored_logs = train(mirrored, row, images, labels, run_eagerly)
        results[row_id(row[0], run_eagerly)] = {
            "weights": {path: relative_difference(single_weights[path], mirrored_weights[path])
                        for path in single_weights},
            "logs": [single_logs, mirrored_logs],
        }
    return {"replicas": mirrored.num_replicas_in_sync, "rows": results}


@pytest.fixture(scope="module")
def replica_comparison():
    completed = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    return result["rows"]


@pytest.mark.slow
@pytest.mark.parametrize("row", compared_ids())
def test_two_replicas_train_like_one_device(replica_comparison, row):
    result = replica_comparison[row]
    assert len(result["weights"]) >= 8
    worst = max(result["weights"].items(), key=lambda item: item[1])
    assert worst[1] <= WEIGHT_TOLERANCE, f"variable {worst[0]} differs by {worst[1]:.3g} (relative)"
    single_logs, mirrored_logs = result["logs"]
    task_losses = [name for name in single_logs if name.endswith("_loss")]
    assert len(task_losses) >= 4
    for name in task_losses + ["loss"]:  # metrics such as AUC jump where a prediction crosses a threshold
        assert len(single_logs[name]) == EPOCHS
        assert mirrored_logs[name] == pytest.approx(single_logs[name], rel=LOSS_TOLERANCE, abs=1e-7), name


def test_every_registered_balancer_and_scheme_is_compared():
    from mtl_zoo.registry import BALANCERS, SHARING_SCHEMES

    table = contract_table()
    rows = row_names()
    assert set(BALANCERS.names()) <= {row[3] for row in rows}
    assert set(SHARING_SCHEMES.names()) - table.OWN_CONTRACT_TESTS <= {row[1] for row in rows}
    assert set(GRAPH_ROWS) <= {row[0] for row in rows}


if __name__ == "__main__":
    print(json.dumps(compare_in_this_process()))
