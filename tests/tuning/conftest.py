"""Synthetic CSV recipes for the tuning and grouping tests: two tasks built to agree, one to conflict."""

import numpy as np
import pandas as pd
import pytest
import yaml


def write_synthetic_recipe(folder, rows: int = 1200, units=(1,), seed: int = 0, epochs: int = 1):
    """Writes `tasks.csv` and `tasks.yaml` to `folder`; returns the recipe path.

    Three regression tasks on four numeric columns: `agree_a` and `agree_b`
    are both relu(x0 + x1) (plus a little noise), `conflict` is
    relu(-(x0 + x1)). Through one shared ReLU unit the first two want its
    weights along +(1, 1, 0, 0), the third along -(1, 1, 0, 0).
    """
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
        "data": {"file": "tasks.csv", "split_column": "split",
                 "columns": {"x0": "numeric", "x1": "numeric", "x2": "numeric", "x3": "numeric"}},
        "tasks": [{"name": name, "kind": "regression", "metrics": ["mae"]} for name in ("agree_a", "agree_b", "conflict")],
        "model": {"trunk": "features", "trunk_options": {"units": list(units)}, "sharing": "hard"},
        "training": {"epochs": epochs, "batch_size": 64, "learning_rate": 0.01},
    }
    path = folder / "tasks.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def synthetic_recipe_path(tmp_path_factory):
    """The synthetic recipe (one shared unit), written once per module."""
    return write_synthetic_recipe(tmp_path_factory.mktemp("synthetic"))

