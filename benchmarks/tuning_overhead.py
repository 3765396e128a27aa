"""Benchmark: a 3-trial `mtl-zoo tune` search against the same 3 configurations trained with `mtl-zoo train`.

Runs `mtl-zoo tune RECIPE --tuner random --max-trials 3` in a subprocess,
reads the 3 configurations it tried from its `search_results.csv`, and
trains each of them with `mtl-zoo train RECIPE --set ...` (one subprocess
after another, the same epochs and data). Two ratios are reported:

- `command_ratio`: wall time of the tune command up to the end of its last
  trial (process start, imports, search-space checks and the 3 trials; the
  line "Training the best trial's recipe" marks the end) over the summed wall
  times of the 3 train commands (each: process start, imports, training,
  test evaluation and writing its artifact);
- `training_ratio`: the search's own time (`search_seconds` in
  `search_results.json`: building, training and validating the 3 trials)
  over the 3 runs' `timing.train_seconds + timing.evaluation_seconds`
  (training with validation, then the test split) from their `metrics.json`.

Each run also records the objective recomputed from its validation metrics
(`train_validation_objective`) beside the trial's (`search_objective`): equal
values show that a trial trains exactly as `train` does.

Results go to `benchmarks/results/tuning_overhead.{json,md}`.

Usage:

    python benchmarks/tuning_overhead.py [--recipe recipes/multidigits_hard.yaml] [--epochs 1] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SPACE = "tuning={space: {sharing: [hard, mmoe], balancer: [fixed, dwa], num_experts: {min: 2, max: 4}}}"
GLOBAL_COLUMNS = {"sharing", "balancer", "learning_rate"}


def train_overrides(row: dict, task_names: list) -> list:
    """The `--set` items that make `mtl-zoo train` train one trial's configuration."""
    sharing = row["sharing"]
    items = [f"model.sharing={sharing}", f"balancer.name={row['balancer']}",
             f"training.learning_rate={row['learning_rate']}"]
    for column, value in row.items():
        if column.startswith(f"{sharing}/") and value != "":
            items.append(f"model.{column.split('/', 1)[1]}={value}")
    items += [f"tasks.{task}.loss_weight={row[f'loss_weight_{task}']}" for task in task_names]
    return items


def validation_objective(history: dict, objective: dict) -> float:
    """The search objective (weighted mean) recomputed from a train run's last-epoch validation metrics."""
    from mtl_zoo.training.relative_performance import lower_is_better

    weights = objective["weights"]
    total = sum(weights[task] * (-1 if lower_is_better(metric) else 1) * history[f"val_{task}_{metric}"][-1]
                for task, metric in objective["metrics"].items())
    return round(total / sum(weights.values()), 6)


def run_tune(command: list) -> tuple:
    """Runs the tune command; returns (seconds to the end of its last trial, whole seconds)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    search_end = None
    for line in process.stdout:
        print(line, end="", flush=True)
        if search_end is None and line.startswith("Training the best trial's recipe"):
            search_end = time.perf_counter() - start
    if process.wait() != 0:
        raise SystemExit(f"tune failed: {' '.join(command)}")
    return search_end, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/multidigits_hard.yaml")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--output-dir", default=str(RESULTS))
    arguments = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = Path(tempfile.mkdtemp(prefix="tuning_overhead_"))
    common = ["--set", f"training.epochs={arguments.epochs}"]
    cli = [sys.executable, "-m", "mtl_zoo.cli"]
    tune = cli + ["tune", arguments.recipe, "--tuner", "random", "--max-trials", "3", "--output",
                  str(work / "tuned"), *common, "--set", SPACE]
    search_wall, tune_wall = run_tune(tune)
    with open(work / "tuned" / "search_results.csv") as handle:
        rows = list(csv.DictReader(handle))
    summary = json.loads((work / "tuned" / "search_results.json").read_text())
    task_names = [column[len("loss_weight_"):] for column in rows[0] if column.startswith("loss_weight_")]
    runs = []
    for row in rows:
        folder = work / f"train_{row['trial']}"
        overrides = [item for value in train_overrides(row, task_names) for item in ("--set", value)]
        start = time.perf_counter()
        subprocess.run(cli + ["train", arguments.recipe, "--output", str(folder), *common, *overrides],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        metrics = json.loads((folder / "metrics.json").read_text())
        runs.append({
            "trial": int(row["trial"]),
            "overrides": train_overrides(row, task_names),
            "wall_seconds": round(wall, 2),
            "train_plus_evaluation_seconds": round(metrics["timing"]["train_seconds"]
                                                   + metrics["timing"]["evaluation_seconds"], 2),
            "search_objective": float(row["objective"]),
            "train_validation_objective": validation_objective(metrics["history"], summary["objective"]),
            "test": metrics["test"],
        })
        print(f"train trial {row['trial']}: {wall:.1f}s", flush=True)
    train_wall = sum(run["wall_seconds"] for run in runs)
    train_work = sum(run["train_plus_evaluation_seconds"] for run in runs)
    result = {
        "recipe": arguments.recipe,
        "epochs": arguments.epochs,
        "space": SPACE,
        "tune_wall_seconds": round(tune_wall, 2),
        "tune_search_wall_seconds": round(search_wall, 2),
        "search_seconds": summary["search_seconds"],
        "train_wall_seconds": round(train_wall, 2),
        "train_plus_evaluation_seconds": round(train_work, 2),
        "command_ratio": round(search_wall / train_wall, 3),
        "training_ratio": round(summary["search_seconds"] / train_work, 3),
        "runs": runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": [round(value, 2) for value in os.getloadavg()]},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    output = Path(arguments.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "tuning_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Tuning overhead ({arguments.recipe}, {arguments.epochs} epoch(s) per trial, 3 trials)",
        "",
        "| measure | 3-trial search | 3 x `mtl-zoo train` | ratio |",
        "|---|---|---|---|",
        f"| command wall time (s) | {search_wall:.1f} | {train_wall:.1f} | {result['command_ratio']:.3f} |",
        f"| training and validation (s) | {summary['search_seconds']:.1f} | {train_work:.1f} | "
        f"{result['training_ratio']:.3f} |",
        "",
        "| trial | search objective | same configuration with `train` |",
        "|---|---|---|",
        *[f"| {run['trial']} | {run['search_objective']:.4f} | {run['train_validation_objective']:.4f} |"
          for run in runs],
        "",
        f"Load average after the run: {result['machine']['load_average']} on {os.cpu_count()} CPUs.",
    ]
    (output / "tuning_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
