"""Benchmark: fused vs separate dense experts, and MMoE via mtl_zoo vs plain Keras.

Prints one table:

- **experts**: a training step of `E` dense ReLU experts (480 -> 64 on a
  batch of 256) mixed by a softmax gate, with the experts computed by one
  `DenseExperts` layer (stacked kernels, one einsum) or by `E` separate
  `keras.layers.Dense` layers, at E = 4, 8, 16;
- **mmoe**: training examples per second of the `multidigits_mmoe` network
  (two shared conv blocks, 4 dense experts of 64, two digit heads) built by
  `mtl_zoo.build_model` and trained by `MultiTaskModel`, against the same
  network written by hand in plain Keras (`EinsumDense` experts, `Dot`
  mixture, `compile(loss=...)`), on the same in-memory batches; and
  mtl_zoo's network alone trained by plain Keras `compile`/`fit`, which
  separates the network's cost from `MultiTaskModel`'s training step.

Each figure is the median over `--runs` training epochs (default 9) of the
epoch's median step time (examples per second = batch size / step time);
epochs of the variants alternate, after one warm-up epoch each, so load
changes on a shared machine hit all alike, and medians ignore the steps a
burst of load slows down.

Usage:

    python benchmarks/experts.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mtl_zoo import InputSpec, Task, build_model  # noqa: E402
from mtl_zoo.layers.experts import DenseExperts, MixExperts, StackExperts  # noqa: E402
from mtl_zoo.trunks.vision import vision_conv  # noqa: E402

WIDTH, UNITS, BATCH, STEPS = 480, 64, 256, 30
IMAGE, NUM_EXPERTS, MMOE_BATCH, MMOE_STEPS = (12, 20, 1), 4, 64, 150
TASK_NAMES = ("left_digit", "right_digit")


class StepTimer(keras.callbacks.Callback):
    """Per epoch, the median seconds of a training step (batch begin to end, first step skipped)."""

    def __init__(self):
        super().__init__()
        self.medians, self._steps = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.append(time.perf_counter() - self._start)

    def on_epoch_end(self, epoch, logs=None):
        self.medians.append(statistics.median(self._steps[1:]))


def step_medians(models: dict, dataset, runs: int) -> dict:
    """Name -> median over `runs` epochs of the epoch's median step seconds; models alternate after a warm-up."""
    for model in models.values():
        model.fit(dataset, epochs=1, verbose=0)
    timers = {name: StepTimer() for name in models}
    for _ in range(runs):
        for name, model in models.items():
            model.fit(dataset, epochs=1, verbose=0, callbacks=[timers[name]])
    return {name: statistics.median(timer.medians) for name, timer in timers.items()}


# === Fused vs separate experts ===


def expert_model(num_experts: int, fused: bool) -> keras.Model:
    inputs = keras.Input((WIDTH,))
    if fused:
        experts = DenseExperts(num_experts, [UNITS])(inputs)
    else:
        experts = StackExperts()([keras.layers.Dense(UNITS, activation="relu")(inputs) for _ in range(num_experts)])
    gates = keras.layers.Dense(num_experts, activation="softmax")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(MixExperts()([gates, experts]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def expert_rows(runs: int) -> list:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * STEPS, WIDTH)).astype("float32")
    y = rng.integers(0, 10, BATCH * STEPS)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).cache().prefetch(2)
    rows = []
    for num_experts in (4, 8, 16):
        keras.utils.set_random_seed(0)
        models = {kind: expert_model(num_experts, kind == "fused") for kind in ("fused", "separate")}
        seconds = step_medians(models, dataset, runs)
        fused, separate = (seconds[kind] * 1000 for kind in ("fused", "separate"))
        rows.append((f"experts E={num_experts}", "fused (stacked)", f"{fused:.2f} ms/step",
                     "separate Dense", f"{separate:.2f} ms/step", f"{separate / fused:.2f}x"))
    return rows


# === MMoE: mtl_zoo vs plain Keras ===


def zoo_mmoe() -> keras.Model:
    inputs = {"image": InputSpec(IMAGE)}
    tasks = [Task(name, "classification", 10) for name in TASK_NAMES]
    trunk = vision_conv(inputs, filters=[16, 32], dense_units=[])
    model = build_model(inputs, trunk, tasks, sharing="mmoe", num_experts=NUM_EXPERTS, expert_units=[UNITS])
    model.compile(optimizer=keras.optimizers.Adam(0.002))
    return model


def keras_compile(model: keras.Model) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(0.002),
        loss={name: "sparse_categorical_crossentropy" for name in TASK_NAMES},
        metrics={name: ["accuracy"] for name in TASK_NAMES},
    )
    return model


def keras_fit(network: keras.Model) -> keras.Model:
    """mtl_zoo's functional network (task outputs only), trained by plain `compile`/`fit`."""
    return keras_compile(keras.Model(network.input, {name: network.output[name] for name in TASK_NAMES}))


def plain_keras_mmoe() -> keras.Model:
    """The same network by hand: shared convolutions, fused experts, a softmax gate and head per task."""
    image = keras.Input(IMAGE, name="image")
    x = image
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(padding="same")(x)
    x = keras.layers.Flatten()(x)
    experts = keras.layers.EinsumDense(
        "bi,ieo->beo", output_shape=(NUM_EXPERTS, UNITS), bias_axes="eo", activation="relu"
    )(x)
    outputs = {}
    for name in TASK_NAMES:
        gate = keras.layers.Dense(NUM_EXPERTS, activation="softmax")(x)
        mixture = keras.layers.Dot(axes=(1, 1))([gate, experts])
        outputs[name] = keras.layers.Dense(10, activation="softmax", name=name)(mixture)
    return keras_compile(keras.Model({"image": image}, outputs))


def mmoe_rows(runs: int) -> list:
    rng = np.random.default_rng(1)
    size = MMOE_BATCH * MMOE_STEPS
    images = rng.random((size,) + IMAGE, dtype="float32")
    labels = {name: rng.integers(0, 10, size) for name in TASK_NAMES}
    dataset = tf.data.Dataset.from_tensor_slices(({"image": images}, labels)).batch(MMOE_BATCH).cache().prefetch(2)
    keras.utils.set_random_seed(0)
    models = {"mtl_zoo": zoo_mmoe(), "network": None, "plain Keras": plain_keras_mmoe()}
    models["network"] = keras_fit(models["mtl_zoo"].network)
    assert models["mtl_zoo"].count_params() == models["plain Keras"].count_params(), "not the same network"
    seconds = step_medians(models, dataset, runs)
    speed = {name: MMOE_BATCH / value for name, value in seconds.items()}
    plain = f"{speed['plain Keras']:,.0f} ex/s"
    return [
        ("mmoe (multidigits_mmoe)", "mtl_zoo", f"{speed['mtl_zoo']:,.0f} ex/s", "plain Keras", plain,
         f"{speed['mtl_zoo'] / speed['plain Keras']:.3f}x"),
        ("mmoe network only", "its network, Keras fit", f"{speed['network']:,.0f} ex/s", "plain Keras", plain,
         f"{speed['network'] / speed['plain Keras']:.3f}x"),
    ]


def format_table(rows: list) -> str:
    header = ("benchmark", "variant A", "A", "variant B", "B", "speed A / B")
    rows = [header] + rows
    widths = [max(len(row[index]) for row in rows) for index in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per variant (median); at least 5")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error(f"--runs must be at least 5. Received: --runs={args.runs}")
    rows = expert_rows(args.runs) + mmoe_rows(args.runs)
    print(f"median of {args.runs} runs; {os.cpu_count()} CPUs; TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(format_table(rows))


if __name__ == "__main__":
    main()
