"""Benchmark: training examples per second of a recommendation MMoE, mtl_zoo vs hand-written Keras.

The model: ten raw columns of a synthetic, MovieLens-100K-shaped impression
log (user and film ids, four categorical and four numeric columns; ids and
categories drawn with a long-tailed popularity), each id and categorical column looked up
and embedded in 8 dimensions, each numeric column normalized (plus its
missing-value indicator), all concatenated; 4 dense experts (ReLU, 64 -> 32)
mixed by a softmax gate per task; a tower (ReLU 16) and a sigmoid output for
two tasks, `click` (every impression) and `like` (labelled on clicks only;
missing elsewhere). Adam (learning rate 0.001), batches of 256, AUC per task.

Variants, all on the same examples (the timed epochs are identical work):

- `keras`: the same network written by hand in plain Keras (lookup and
  embedding layers, one `Dense` stack per expert, the gate mixture in a
  `Lambda`), trained with default `compile`/`fit` settings on the usual
  pipeline `from_tensor_slices(...).shuffle(10000).batch(256).prefetch()`,
  with the missing `like` labels given sample weight 0;
- `keras, steps_per_execution`: the same, compiled with the
  `steps_per_execution` mtl_zoo's recipes default to;
- `mtl_zoo`: a recipe (`features` trunk, `mmoe` sharing, dense experts)
  built by `mtl_zoo.training.run.build_model_from_recipe`, compiled by
  `mtl_zoo.training.run.compile_model` and fed by `mtl_zoo.training.run.load_split`,
  i.e. the library's defaults;
- ablations of `mtl_zoo`, each removing one choice: the per-example
  pipeline (`map` per example, `cache`, `shuffle`, `batch`: how
  `load_split` batched before), the experts computed as before (rows
  transposed to expert-major and one batched matmul per depth, instead of
  one 2-D matmul per expert), one step per execution (the invalid-label
  check then reads back after every step), and one step per execution with
  the label check removed (not a usable setting: only to price the check).

Each figure is the median over `--runs` epochs of examples / wall seconds
of the epoch (pipeline included); each variant trains one warm-up epoch
first, then the variants' epochs alternate, so a burst of load on a shared
machine hits all alike. The machine's load average is recorded with every
round. Results go to `benchmarks/results/recsys_throughput.{json,md}`.

Usage:

    python benchmarks/recsys_throughput.py [--runs 7] [--examples 131072] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import types
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec  # noqa: E402
from mtl_zoo.recipes.validation import validate_recipe  # noqa: E402
from mtl_zoo.registry import DATASETS  # noqa: E402
from mtl_zoo.training.run import build_model_from_recipe, compile_model, load_split  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SOURCE_NAME = "synthetic_impressions"
BATCH, EMBEDDING, NUM_EXPERTS, EXPERT_UNITS, TOWER_UNITS = 256, 8, 4, [64, 32], [16]
LEARNING_RATE, SHUFFLE_BUFFER, SEED = 0.001, 10000, 7
TASKS = ("click", "like")
# Column -> (feature type, number of distinct values or None for numeric): MovieLens-100K-shaped
# (943 users, 1,682 films, 21 occupations, 795 zip codes).
COLUMNS = {
    "user_id": ("id", 943),
    "movie_id": ("id", 1682),
    "gender": ("categorical", 2),
    "age_group": ("categorical", 7),
    "occupation": ("categorical", 21),
    "zip_code": ("categorical", 795),
    "release_year": ("numeric", None),
    "hour": ("numeric", None),
    "movie_popularity": ("numeric", None),
    "user_activity": ("numeric", None),
}
STRING_COLUMNS = ("gender", "occupation", "zip_code")
# A known tf.keras recommendation library's MMoE on this kind of 2-core machine (examples/second).
REFERENCE_EXAMPLES_PER_SECOND = 56000
GOAL_RATIO = 1.5


# === Data ===


def synthetic_impressions(num_examples: int, seed: int = 0) -> tuple:
    """`(features, labels)` numpy dicts: raw columns, a click label and a like label (NaN unless clicked)."""
    rng = np.random.default_rng(seed)
    features, signal = {}, np.zeros(num_examples)
    for name, (kind, cardinality) in COLUMNS.items():
        if kind == "numeric":
            values = rng.gamma(2.0, 1.0, num_examples).astype("float32")
            signal += 0.2 * np.log1p(values)
        else:
            popularity = 1.0 / np.arange(1, cardinality + 1) ** 0.8  # a long tail, as ratings have
            values = rng.choice(cardinality, num_examples, p=popularity / popularity.sum())
            signal += 0.3 * np.sin(values * 0.7 + len(name))
            if name in STRING_COLUMNS:
                values = np.array([f"{name}_{value}" for value in values], dtype=object)
        features[name] = values
    click = (rng.random(num_examples) < 1 / (1 + np.exp(-(signal - signal.mean())))).astype("float32")
    like = np.where(click == 1, (rng.random(num_examples) < 0.4 + 0.2 * np.tanh(signal)).astype("float32"), np.nan)
    return features, {"click": click, "like": like.astype("float32")}


def input_specs() -> dict:
    specs = {}
    for name, (kind, _) in COLUMNS.items():
        dtype = "float32" if kind == "numeric" else "string" if name in STRING_COLUMNS else "int64"
        specs[name] = InputSpec((), dtype, feature_type=kind)
    return specs


def register_source(arrays: tuple) -> None:
    def load(split, data_dir=None):
        return tf.data.Dataset.from_tensor_slices(arrays)

    if SOURCE_NAME not in DATASETS:
        DATASETS.register(SOURCE_NAME, DataSource(
            name=SOURCE_NAME, description="synthetic impressions (benchmark)", inputs=input_specs(),
            labels={"click": LabelSpec("binary"), "like": LabelSpec("binary")}, splits=("train",), load=load,
        ))


def recipe(steps_per_execution=None):
    training = {"epochs": 1, "batch_size": BATCH, "optimizer": "adam", "learning_rate": LEARNING_RATE}
    if steps_per_execution is not None:
        training["steps_per_execution"] = steps_per_execution
    return validate_recipe({
        "name": "recsys_mmoe",
        "seed": SEED,
        "data": {"name": SOURCE_NAME, "validation_split": None, "test_split": "train",
                 "shuffle_buffer": SHUFFLE_BUFFER},
        "tasks": [{"name": name, "kind": "binary", "metrics": ["auc"], "head_units": TOWER_UNITS} for name in TASKS],
        "model": {"trunk": "features", "trunk_options": {"embedding_dim": EMBEDDING, "units": [64]}, "sharing": "mmoe",
                  "shared_depth": 0, "num_experts": NUM_EXPERTS, "expert_units": EXPERT_UNITS},
        "training": training,
    }, source="recsys_mmoe (benchmark)")


def per_example_pipeline(zoo_recipe) -> tf.data.Dataset:
    """How `load_split` batched before: a `map` per example, `cache`, `shuffle`, `batch`."""
    dataset = DATASETS.get(SOURCE_NAME).load_split("train")
    dataset = dataset.map(lambda features, labels: (features, {name: labels[name] for name in TASKS}),
                          num_parallel_calls=tf.data.AUTOTUNE).cache()
    dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=zoo_recipe.seed)
    return dataset.batch(BATCH).prefetch(tf.data.AUTOTUNE)


# === Models ===


def expert_major_call(self, inputs):
    """How `DenseExperts` computed before: rows transposed to expert-major, one batched matmul per depth."""
    x, expert_major = inputs, False
    if len(x.shape) == 3:
        x, expert_major = ops.transpose(x, (1, 0, 2)), True
    for depth, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
        if expert_major:
            x = self._activation(ops.matmul(x, kernel) + ops.expand_dims(bias, 1))
            continue
        _, width, units = kernel.shape
        side_by_side = ops.reshape(ops.transpose(kernel, (1, 0, 2)), (width, self.num_experts * units))
        x = self._activation(ops.reshape(ops.matmul(x, side_by_side), (-1, self.num_experts, units)) + bias)
        if depth + 1 < len(self.kernels):
            x, expert_major = ops.transpose(x, (1, 0, 2)), True
    return ops.transpose(x, (1, 0, 2)) if expert_major else x


def zoo_model(zoo_recipe, label_check: bool = True, expert_major: bool = False):
    keras.utils.set_random_seed(SEED)
    model = build_model_from_recipe(zoo_recipe)
    if expert_major:
        experts = model.network.get_layer("shared_experts")
        experts.call = types.MethodType(expert_major_call, experts)
    compile_model(model, zoo_recipe.training)
    if not label_check:
        model.make_train_function()
        model.train_function = model.train_function.__wrapped__
    return model


def hand_written_keras(arrays: tuple, steps_per_execution: int = 1) -> keras.Model:
    """The same network in plain Keras: lookups, embeddings, normalization, 4 Dense experts, gates, towers."""
    keras.utils.set_random_seed(SEED)
    features, _ = arrays
    inputs, parts = {}, []
    for name, (kind, _) in COLUMNS.items():
        spec = input_specs()[name]
        inputs[name] = keras.Input(shape=(), dtype=spec.dtype, name=name)
        if kind == "numeric":
            normalization = keras.layers.Normalization(axis=-1)
            normalization.adapt(features[name].reshape(-1, 1))
            x = normalization(keras.layers.Reshape((1,))(inputs[name]))
            parts.append(keras.layers.Lambda(
                lambda x: ops.concatenate([ops.where(ops.isnan(x), 0.0, x), ops.cast(ops.isnan(x), x.dtype)], -1)
            )(x))
        else:
            lookup = (keras.layers.StringLookup if spec.dtype == "string" else keras.layers.IntegerLookup)()
            lookup.adapt(features[name])
            parts.append(keras.layers.Embedding(lookup.vocabulary_size(), EMBEDDING)(lookup(inputs[name])))
    x = keras.layers.Concatenate()(parts)
    experts = []
    for _ in range(NUM_EXPERTS):
        expert = x
        for units in EXPERT_UNITS:
            expert = keras.layers.Dense(units, activation="relu")(expert)
        experts.append(expert)
    stacked = keras.layers.Lambda(lambda tensors: ops.stack(tensors, axis=1))(experts)
    outputs = {}
    for task in TASKS:
        gate = keras.layers.Dense(NUM_EXPERTS, activation="softmax")(x)
        mixture = keras.layers.Lambda(lambda pair: ops.sum(pair[0][:, :, None] * pair[1], axis=1))([gate, stacked])
        tower = mixture
        for units in TOWER_UNITS:
            tower = keras.layers.Dense(units, activation="relu")(tower)
        outputs[task] = keras.layers.Dense(1, activation="sigmoid", name=task)(tower)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss={task: "binary_crossentropy" for task in TASKS},
        metrics={task: [keras.metrics.AUC()] for task in TASKS},
        steps_per_execution=steps_per_execution,
    )
    return model


def hand_written_pipeline(arrays: tuple) -> tf.data.Dataset:
    """The usual Keras input pipeline; missing `like` labels get sample weight 0."""
    features, labels = arrays
    observed = {task: (~np.isnan(values)).astype("float32") for task, values in labels.items()}
    filled = {task: np.nan_to_num(values, nan=0.0) for task, values in labels.items()}
    dataset = tf.data.Dataset.from_tensor_slices((features, filled, observed))
    return dataset.shuffle(SHUFFLE_BUFFER, seed=SEED).batch(BATCH).prefetch(tf.data.AUTOTUNE)


# === Timing ===


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of each epoch of `fit` (pipeline included)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def measure(variants: dict, runs: int, num_examples: int) -> tuple:
    """Name -> median examples/second over `runs` alternating epochs; plus the load averages seen."""
    timers = {name: EpochTimer() for name in variants}
    for name, (model, dataset) in variants.items():
        model.fit(dataset, epochs=1, verbose=0)  # warm-up: tracing and the first pass over the data
    loads = [os.getloadavg()[0]]
    for run in range(runs):
        for name, (model, dataset) in variants.items():
            model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[timers[name]])
        loads.append(os.getloadavg()[0])
        print(f"  round {run + 1}/{runs}: load {loads[-1]:.2f}; "
              + ", ".join(f"{name} {num_examples / timer.seconds[-1]:,.0f}" for name, timer in timers.items()),
              flush=True)
    medians = {name: num_examples / statistics.median(timer.seconds) for name, timer in timers.items()}
    return medians, loads


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed epochs per variant (median reported)")
    parser.add_argument("--examples", type=int, default=131072, help="examples per epoch")
    parser.add_argument("--quick", action="store_true", help="2 runs of 8,192 examples; writes no results")
    parser.add_argument("--output-dir", type=Path, default=RESULTS, help="where the json and md go")
    arguments = parser.parse_args(argv)
    runs, num_examples = (2, 8192) if arguments.quick else (arguments.runs, arguments.examples)

    arrays = synthetic_impressions(num_examples)
    register_source(arrays)
    defaults = recipe()
    steps = defaults.training.steps_per_execution
    one_step = recipe(steps_per_execution=1)
    variants = {
        "keras": (hand_written_keras(arrays), hand_written_pipeline(arrays)),
        f"keras, steps_per_execution={steps}": (hand_written_keras(arrays, steps), hand_written_pipeline(arrays)),
        "mtl_zoo": (zoo_model(defaults), load_split(defaults, "train", training=True)),
        "mtl_zoo, per-example pipeline": (zoo_model(defaults), per_example_pipeline(defaults)),
        "mtl_zoo, experts as one batched matmul": (zoo_model(defaults, expert_major=True),
                                                   load_split(defaults, "train", training=True)),
        "mtl_zoo, steps_per_execution=1": (zoo_model(one_step), load_split(one_step, "train", training=True)),
        "mtl_zoo, steps_per_execution=1, no label check": (
            zoo_model(one_step, label_check=False), load_split(one_step, "train", training=True)),
    }
    parameters = {name: int(sum(np.prod(w.shape) for w in model.weights)) for name, (model, _) in variants.items()}
    print(f"{num_examples:,} examples per epoch, batch {BATCH}, {runs} timed epochs per variant; "
          f"parameters: keras {parameters['keras']:,}, mtl_zoo {parameters['mtl_zoo']:,}", flush=True)
    medians, loads = measure(variants, runs, num_examples)
    keras_speed = medians["keras"]
    rows = [{"variant": name, "examples_per_second": round(speed), "vs_keras": round(speed / keras_speed, 3),
             "vs_reference": round(speed / REFERENCE_EXAMPLES_PER_SECOND, 3)} for name, speed in medians.items()]
    table = format_table(rows)
    print(table)
    result = {
        "examples_per_epoch": num_examples, "runs": runs, "batch_size": BATCH, "parameters": parameters,
        "rows": rows, "load_average": [round(load, 2) for load in loads],
        "goal": {"vs_keras": GOAL_RATIO, "examples_per_second": GOAL_RATIO * REFERENCE_EXAMPLES_PER_SECOND},
        "steps_per_execution_default": steps, "cpu_count": os.cpu_count(),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if not arguments.quick:
        arguments.output_dir.mkdir(parents=True, exist_ok=True)
        (arguments.output_dir / "recsys_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
        loads_text = ", ".join(f"{load:.2f}" for load in loads)
        (arguments.output_dir / "recsys_throughput.md").write_text(
            f"# Recommendation MMoE: training examples/second\n\n{num_examples:,} examples per epoch, batch "
            f"{BATCH}, median of {runs} epochs, {os.cpu_count()} CPU cores, load average {loads_text}; "
            f"written by `benchmarks/recsys_throughput.py` on {result['created']}.\n\n{markdown_table(rows)}\n")
    return result


def format_table(rows: list) -> str:
    header = ["variant", "examples/s", "vs keras", f"vs {REFERENCE_EXAMPLES_PER_SECOND // 1000}k"]
    cells = [header] + [[row["variant"], f"{row['examples_per_second']:,}", f"{row['vs_keras']:.2f}x",
                         f"{row['vs_reference']:.2f}x"] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)


def markdown_table(rows: list) -> str:
    lines = ["| variant | examples/s | vs keras | vs 56k |", "|---|---:|---:|---:|"]
    lines += [f"| {row['variant']} | {row['examples_per_second']:,} | {row['vs_keras']:.2f}x | "
              f"{row['vs_reference']:.2f}x |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
