"""Task grouping on a synthetic set built with two agreeing tasks and one conflicting task.

Writes `tasks.csv` and `tasks.yaml` (see `write_synthetic_recipe`) to the
output folder and runs `mtl-zoo group` on them with `--num-groups 2`; the
command writes `affinity.json`, `affinity.png`, `gradient_cosine.png` and
`groups.yaml` there. The grouping test (tests/tuning/test_grouping.py) uses the
same data.

Usage:

    python benchmarks/grouping_synthetic.py [--output-dir benchmarks/results/grouping_synthetic] [--steps 60]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

RESULTS = Path(__file__).resolve().parent / "results" / "grouping_synthetic"


def write_synthetic_recipe(folder, rows: int = 1200, units=(1,), seed: int = 0, epochs: int = 1) -> Path:
    """Writes `tasks.csv` and `tasks.yaml` to `folder`; returns the recipe path.

    Three regression tasks on four numeric columns: `agree_a` and `agree_b`
    are both relu(x0 + x1) (plus a little noise), `conflict` is
    relu(-(x0 + x1)). Through one shared ReLU unit (the `features` trunk with
    `units: [1]`, hard sharing) the first two want its weights along
    +(1, 1, 0, 0), the third along -(1, 1, 0, 0).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype("float32")
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2", "x3"])
    direction = x[:, 0] + x[:, 1]
    frame["agree_a"] = np.maximum(direction, 0.0) + 0.05 * rng.normal(size=rows)
    frame["agree_b"] = np.maximum(direction, 0.0) + 0.05 * rng.normal(size=rows)
    frame["conflict"] = np.maximum(-direction, 0.0) + 0.05 * rng.normal(size=rows)
    frame["split"] = np.where(np.arange(rows) < rows * 0.7, "train",
                              np.where(np.arange(rows) < rows * 0.85, "validation", "test"))
    frame.to_csv(folder / "tasks.csv", index=False)
    recipe = {
        "name": "synthetic_tasks",
        "description": "Two regression tasks built to agree (agree_a, agree_b) and one built to conflict with them.",
        "data": {"file": "tasks.csv", "split_column": "split",
                 "columns": {"x0": "numeric", "x1": "numeric", "x2": "numeric", "x3": "numeric"}},
        # Raw units: the planted structure is the sign of the shared unit's weights, measured on each task's own MSE.
        "tasks": [{"name": name, "kind": "regression", "metrics": ["mae"], "standardize_target": False}
                  for name in ("agree_a", "agree_b", "conflict")],
        "model": {"trunk": "features", "trunk_options": {"units": list(units)}, "sharing": "hard"},
        "training": {"epochs": epochs, "batch_size": 64, "learning_rate": 0.01},
    }
    path = folder / "tasks.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=str(RESULTS))
    parser.add_argument("--steps", type=int, default=60)
    arguments = parser.parse_args(argv)
    from mtl_zoo.cli import main as mtl_zoo

    recipe = write_synthetic_recipe(arguments.output_dir)
    return mtl_zoo(["group", str(recipe), "--output", arguments.output_dir, "--steps", str(arguments.steps),
                    "--every-n-steps", "5", "--num-groups", "2"])


if __name__ == "__main__":
    sys.exit(main())
