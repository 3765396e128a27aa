"""Benchmark: training throughput on 1, 2 and 4 replicas and on 1 vs 2 worker processes.

Each configuration is one `mtl-zoo train` command on the same recipe (one
epoch, no validation split), run in its own process; its throughput is the
`timing.examples_per_second` its `metrics.json` reports (train examples of
the epoch over the seconds `fit` took). Configurations:

- `cpu x1`, `cpu x2`, `cpu x4`: `--strategy mirrored --devices N` (N logical
  CPU devices; `cpu x1` is the default strategy);
- `1 worker`, `2 workers`: `--strategy multi_worker --workers N` (N local
  processes on 127.0.0.1, each with its own share of the CPU);
- when GPUs are present, `gpu x1` (default strategy on one GPU) and
  `gpu xN` (`--strategy mirrored` on all N GPUs).

Rounds alternate the configurations (x1, x2, x4, x1, ...) so a busy machine
slows each alike; the table gives medians over `--rounds`. With `--weak`
(the default) each replica keeps the recipe's batch size (global batch =
batch size × replicas), the usual way to read scaling efficiency; `--strong`
keeps the recipe's global batch. Scaling efficiency is throughput over N
times the throughput of one replica of the same kind. Logical CPU devices
share the machine's cores, so the CPU rows show the cost of the
strategy's synchronisation, not a hardware speed-up; the GPU rows are the
scaling figure (goal: >= 95% on the largest trunk, e.g.
`--recipe recipes/digit_scenes_hard.yaml --set model.trunk=resnet50`).

Results go to `benchmarks/results/scaling.{json,md}`.

Usage:

    python benchmarks/scaling.py [--recipe recipes/multidigits_hard.yaml] [--rounds 3] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def gpu_count() -> int:
    """Physical GPUs TensorFlow sees (asked in a subprocess, so this process leaves devices alone)."""
    probe = subprocess.run([sys.executable, "-c", "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"],
                           capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return int(probe.stdout.strip() or 0) if probe.returncode == 0 else 0


def configurations(gpus: int) -> list:
    """`(label, replicas, workers, extra command-line arguments, baseline label)` of every configuration."""
    rows = [("cpu x1", 1, 1, ["--strategy", "default"], "cpu x1"),
            ("cpu x2", 2, 1, ["--strategy", "mirrored", "--devices", "2"], "cpu x1"),
            ("cpu x4", 4, 1, ["--strategy", "mirrored", "--devices", "4"], "cpu x1"),
            ("1 worker", 1, 1, ["--strategy", "multi_worker", "--workers", "1"], "1 worker"),
            ("2 workers", 2, 2, ["--strategy", "multi_worker", "--workers", "2"], "1 worker")]
    if gpus:
        rows += [("gpu x1", 1, 1, ["--strategy", "default"], "gpu x1")]
        if gpus > 1:
            rows += [(f"gpu x{gpus}", gpus, 1, ["--strategy", "mirrored"], "gpu x1")]
    return rows


def recipe_batch_size(recipe: str, overrides: list) -> int:
    from mtl_zoo.recipes.loading import load_recipe

    return load_recipe(recipe, overrides).training.batch_size


def run(recipe: str, arguments: list, overrides: list, batch_size: int, output: Path, gpu: bool) -> dict:
    """Trains one configuration; returns its metrics.json."""
    command = [sys.executable, "-m", "mtl_zoo.cli", "train", recipe, "--output", str(output), "--overwrite",
               "--set", "training.epochs=1", "--set", "data.validation_split=null",
               "--set", f"training.batch_size={batch_size}", *[item for o in overrides for item in ("--set", o)],
               *arguments]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if not gpu:
        environment["CUDA_VISIBLE_DEVICES"] = ""
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return json.loads((output / "metrics.json").read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "multidigits_hard.yaml"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    scaling = parser.add_mutually_exclusive_group()
    scaling.add_argument("--weak", dest="weak", action="store_true", default=True,
                         help="each replica keeps the recipe's batch size (default)")
    scaling.add_argument("--strong", dest="weak", action="store_false", help="keep the recipe's global batch")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)

    base_batch = recipe_batch_size(arguments.recipe, arguments.set)
    gpus = gpu_count()
    rows = configurations(gpus)
    throughput = {label: [] for label, *_ in rows}
    records = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(arguments.rounds):
            for label, replicas, _, extra, _ in rows:
                batch = base_batch * replicas if arguments.weak else base_batch
                metrics = run(arguments.recipe, extra, arguments.set, batch, Path(scratch) / label.replace(" ", "_"),
                              gpu=label.startswith("gpu"))
                throughput[label].append(metrics["timing"]["examples_per_second"])
                records[label] = {"distribution": metrics["distribution"], "global_batch": batch}
                print(f"round {round_index + 1}/{arguments.rounds} {label}: "
                      f"{throughput[label][-1]:.0f} examples/s", flush=True)

    table = []
    for label, replicas, workers, _, baseline in rows:
        median = statistics.median(throughput[label])
        base = statistics.median(throughput[baseline])
        table.append({"configuration": label, "replicas": replicas, "workers": workers,
                      "global_batch": records[label]["global_batch"], "examples_per_second": throughput[label],
                      "median_examples_per_second": median, "speedup": median / base,
                      "scaling_efficiency": median / (replicas * base)})
    result = {"recipe": Path(arguments.recipe).stem, "overrides": arguments.set, "rounds": arguments.rounds,
              "scaling": "weak" if arguments.weak else "strong", "physical_gpus": gpus,
              "cpu_count": os.cpu_count(), "platform": platform.platform(), "rows": table}
    arguments.output_dir.mkdir(parents=True, exist_ok=True)
    (arguments.output_dir / "scaling.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Training throughput of {result['recipe']} ({result['scaling']} scaling, medians of "
             f"{arguments.rounds} rounds, {os.cpu_count()} CPU cores, {gpus} GPUs)", "",
             "| configuration | replicas | workers | global batch | examples/s | speed-up | scaling efficiency |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {row['configuration']} | {row['replicas']} | {row['workers']} | {row['global_batch']} | "
              f"{row['median_examples_per_second']:.0f} | {row['speedup']:.2f} | {row['scaling_efficiency']:.0%} |"
              for row in table]
    (arguments.output_dir / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
