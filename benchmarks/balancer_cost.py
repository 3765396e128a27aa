"""Benchmark: training-step time of every balancer relative to fixed weights, at 2 and 10 tasks.

The model is the `multidigits_hard` network (two shared conv blocks of 32
and 64 filters on 12x20 images, a dense block of 128, one 10-class head per
task) trained with Adam on in-memory batches of 64: at K = 2 its two digit
tasks, at K = 10 ten MultiDigits-style classification tasks with random
labels (the step's cost does not depend on the labels). Gradient balancers
are timed with both ways of taking per-task gradients (`task_gradients`
"vectorized" and "loop"), and those that allow it also with `rep_grad`
(per-task gradients with respect to the shared representation, the output
of the second conv block: `[64, 3 * 5 * 64]` per task), taken the way
`task_gradients="auto"` takes them ("loop": with one loss per task, each
backward pass only runs through its own task's layers; `--rep-grad-vectorized`
adds rows with one Jacobian pass, which goes through every task's layers).

A step's time is the time of a `fit` epoch of `--steps` steps (measured from
its first to its last step, so `fit`'s set-up is left out) divided by the
steps. Each variant trains one warm-up epoch, then `--runs` rounds follow in
which every variant trains one timed epoch, `fixed` first. A ratio is the
median over rounds of the variant's step time over `fixed`'s step time in
the same round, so a burst of load on a shared machine hits both sides of a
ratio alike; the ms/step column is the median step time. Results, with the
load average after each round, go to
`benchmarks/results/balancer_cost.{json,md}`.

Usage:

    python benchmarks/balancer_cost.py [--runs 5] [--steps 30] [--tasks 2 10] [--balancers fixed famo ...]
                                       [--rep-grad-vectorized] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mtl_zoo import InputSpec, Task, build_model  # noqa: E402
from mtl_zoo.balancers.gradient_weighting import GradientWeighting  # noqa: E402
from mtl_zoo.registry import BALANCERS  # noqa: E402
from mtl_zoo.trunks.vision import vision_conv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
IMAGE, BATCH, CLASSES = (12, 20, 1), 64, 10
INPUTS = {"image": InputSpec(IMAGE)}


def task_names(num_tasks: int) -> list:
    return ["left_digit", "right_digit"] if num_tasks == 2 else [f"digit_{index}" for index in range(num_tasks)]


def dataset(num_tasks: int, steps: int) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    size = BATCH * steps
    features = {"image": rng.random((size,) + IMAGE, dtype="float32")}
    labels = {name: rng.integers(0, CLASSES, size) for name in task_names(num_tasks)}
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(BATCH).cache().repeat()


class StepTimer(keras.callbacks.Callback):
    """Seconds from the first step's start to the last step's end of each epoch."""

    def __init__(self):
        super().__init__()
        self.epoch_seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._start)


def variants(names: list, rep_grad_vectorized: bool = False) -> list:
    """`(label, balancer name, options)`: every balancer, gradient ones once per `task_gradients` (and `rep_grad`)."""
    rows = []
    for name in names:
        balancer = BALANCERS.get(name)
        if not balancer.uses_task_gradients:
            rows.append((name, name, {}))
            continue
        for method in ("vectorized", "loop"):
            rows.append((f"{name} ({method})", name, {"task_gradients": method}))
        if issubclass(balancer, GradientWeighting):
            rows.append((f"{name} (rep_grad)", name, {"rep_grad": True}))
            if rep_grad_vectorized:
                rows.append((f"{name} (rep_grad, vectorized)", name, {"rep_grad": True, "task_gradients": "vectorized"}))
    return rows


def make_runner(balancer: str, options: dict, num_tasks: int, steps: int):
    keras.utils.set_random_seed(0)
    tasks = [Task(name, "classification", CLASSES) for name in task_names(num_tasks)]
    trunk = vision_conv(INPUTS, filters=[32, 64], dense_units=[128])
    model = build_model(INPUTS, trunk, tasks, shared_depth=2, balancer=BALANCERS.get(balancer)(**options))
    model.compile(optimizer=keras.optimizers.Adam(0.002))
    data, timer = dataset(num_tasks, steps), StepTimer()

    def run() -> float:
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[timer])
        return timer.epoch_seconds[-1] / steps

    return run


def measure(names: list, num_tasks: int, runs: int, steps: int, rep_grad_vectorized: bool = False) -> dict:
    """Label -> {"ms_per_step": median, "ratio": median over rounds of the ratio to fixed}; plus "load"."""
    runners = {label: make_runner(name, options, num_tasks, steps)
               for label, name, options in variants(names, rep_grad_vectorized)}
    for runner in runners.values():
        runner()  # warm-up: tracing
    times, loads = {label: [] for label in runners}, []
    for run in range(runs):
        for label, runner in runners.items():
            times[label].append(runner())
        loads.append(round(os.getloadavg()[0], 2))
        print(f"  K = {num_tasks}, round {run + 1}/{runs}: load {loads[-1]:.2f}", flush=True)
    rows = {label: {"ms_per_step": round(1000 * statistics.median(values), 2),
                    "ratio": round(statistics.median(t / f for t, f in zip(values, times["fixed"])), 3)}
            for label, values in times.items()}
    return {"rows": rows, "load_average": loads}


def format_table(results: dict) -> str:
    """One row per variant: median ms per step and median ratio to fixed, per number of tasks."""
    counts = list(results)
    header = "| balancer | " + " | ".join(f"K = {k}: ms/step | K = {k}: x fixed" for k in counts) + " |"
    lines = [header, "|---|" + "---:|" * (2 * len(counts))]
    for label in results[counts[0]]["rows"]:
        cells = []
        for k in counts:
            row = results[k]["rows"][label]
            cells += [f"{row['ms_per_step']:.1f}", f"{row['ratio']:.2f}"]
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (medians)")
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed epoch")
    parser.add_argument("--tasks", type=int, nargs="+", default=[2, 10], help="numbers of tasks")
    parser.add_argument("--balancers", nargs="+", default=None, help="registered names (default: all)")
    parser.add_argument("--rep-grad-vectorized", action="store_true", help="also time rep_grad with one Jacobian pass")
    parser.add_argument("--output-dir", type=Path, default=RESULTS, help="where the json and md go")
    args = parser.parse_args(argv)
    names = args.balancers or BALANCERS.names()
    names = ["fixed"] + [name for name in names if name != "fixed"]
    results = {k: measure(names, k, args.runs, args.steps, args.rep_grad_vectorized) for k in args.tasks}
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    summary = (f"median of {args.runs} rounds of {args.steps} steps (batch {BATCH}); {os.cpu_count()} CPUs; "
               f"TensorFlow {tf.__version__}, Keras {keras.__version__}; load average after each round: "
               + "; ".join(f"K = {k}: " + ", ".join(f"{load:.2f}" for load in results[k]["load_average"])
                           for k in results))
    table = format_table(results)
    print(summary)
    print(table)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    document = {"runs": args.runs, "steps": args.steps, "batch_size": BATCH, "cpu_count": os.cpu_count(),
                "results": {str(k): value for k, value in results.items()}, "created": created,
                "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                             "keras": keras.__version__}}
    (args.output_dir / "balancer_cost.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.output_dir / "balancer_cost.md").write_text(
        f"# Balancer step time relative to `fixed`\n\n{summary}; written by `benchmarks/balancer_cost.py` "
        f"on {created}.\n\n{table}\n")
    return document


if __name__ == "__main__":
    main()
