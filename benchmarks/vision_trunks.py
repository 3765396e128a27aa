"""Parameter counts and CPU training step times of the `keras.applications` trunks.

For each trunk (`mobilenet_v3_small`, `efficientnet_b0`, `resnet50`, and the
small `vision_conv` and `vision_resnet` for scale) it builds a two-task model
(10-class and binary classification heads, hard sharing of the whole trunk)
on uint8 RGB images, then times `train_on_batch` on random images: a few
warm-up steps (tracing), then the median of the timed steps. Writes
`benchmarks/results/vision_trunks.json` and `.md`.

Usage:

    python benchmarks/vision_trunks.py [--image-size 64] [--batch-size 16] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TRUNKS = ("mobilenet_v3_small", "efficientnet_b0", "resnet50", "vision_resnet", "vision_conv")
WARMUP_STEPS = 3


def measure(trunk_name: str, image_size: int, batch_size: int, steps: int) -> dict:
    """Builds the two-task model on `trunk_name` and returns its sizes and step times."""
    import numpy as np

    from mtl_zoo.models.builders import build_model
    from mtl_zoo.data.source import InputSpec
    from mtl_zoo.registry import TRUNKS
    from mtl_zoo.tasks.task import Task

    inputs = {"image": InputSpec((image_size, image_size, 3), "uint8", (0, 255))}
    trunk = TRUNKS.get(trunk_name)(inputs)
    tasks = [Task("digit", "classification", 10), Task("flag", "binary")]
    model = build_model(inputs, trunk, tasks, sharing="hard")
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size, image_size, image_size, 3)).astype("uint8")
    labels = {"digit": rng.integers(0, 10, batch_size), "flag": rng.integers(0, 2, batch_size).astype("float32")}
    times = []
    for step in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        model.train_on_batch({"image": images}, labels)
        if step >= WARMUP_STEPS:
            times.append(time.perf_counter() - start)
    trunk_parameters = sum(
        layer.count_params() for layer in model.network.layers if layer.name.startswith("shared_block_")
    )
    return {
        "trunk": trunk_name,
        "blocks": trunk.num_blocks,
        "trunk_parameters": int(trunk_parameters),
        "model_parameters": int(model.count_params()),
        "median_step_seconds": statistics.median(times),
        "examples_per_second": batch_size / statistics.median(times),
    }


def write_results(rows, settings) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vision_trunks.json").write_text(json.dumps({"settings": settings, "trunks": rows}, indent=2) + "\n")
    lines = [
        "# Vision trunks: size and CPU step time",
        "",
        f"Two-task model (10-class + binary heads, whole trunk shared) on {settings['image_size']}x"
        f"{settings['image_size']}x3 uint8 images, batch {settings['batch_size']}, `train_on_batch`, median of "
        f"{settings['steps']} steps after {WARMUP_STEPS} warm-up steps; {settings['machine']}. Written by "
        "`benchmarks/vision_trunks.py`.",
        "",
        "| trunk | blocks | trunk parameters | model parameters | median step (s) | examples/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['trunk']}` | {row['blocks']} | {row['trunk_parameters']:,} | {row['model_parameters']:,} | "
            f"{row['median_step_seconds']:.3f} | {row['examples_per_second']:.1f} |"
        )
    (RESULTS / "vision_trunks.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import mtl_zoo.trunks  # noqa: F401  registers the trunks

    settings = {
        "image_size": args.image_size, "batch_size": args.batch_size, "steps": args.steps,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores",
    }
    rows = []
    for name in TRUNKS:
        row = measure(name, args.image_size, args.batch_size, args.steps)
        print(f"{name}: {row['trunk_parameters']:,} trunk parameters, median step {row['median_step_seconds']:.3f} s",
              flush=True)
        rows.append(row)
    write_results(rows, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
