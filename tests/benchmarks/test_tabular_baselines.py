"""`benchmarks/tabular_baselines.py --quick` on a tiny CSV recipe: the script runs and its figures are right."""

import importlib.util
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROWS = 800


def load_script():
    spec = importlib.util.spec_from_file_location("tabular_baselines", ROOT / "benchmarks" / "tabular_baselines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The script's `--quick` run on a CSV with numeric, categorical, id and text columns and three task kinds."""
    folder = tmp_path_factory.mktemp("tabular")
    rng = np.random.default_rng(0)
    size = rng.uniform(0, 10, ROWS).round(2)
    shop = rng.choice(["north", "south", "east"], ROWS)
    customer = rng.integers(0, 5000, ROWS)  # more distinct values than boosting takes as categories
    note = rng.choice(["fast delivery", "late", "gift wrap please", ""], ROWS)
    price = size * 2 + (shop == "south") * 5 + rng.normal(0, 0.3, ROWS)
    pd.DataFrame({
        "size": size, "shop": shop, "customer": customer, "note": note, "price": price.round(2),
        "returned": np.where(rng.random(ROWS) < 0.1, np.nan, (note == "late") | (size > 8)).astype(float),
        "tier": np.where(size < 3, "small", np.where(size < 7, "medium", "large")),
    }).to_csv(folder / "orders.csv", index=False)
    recipe = {
        "name": "orders", "seed": 1,
        "data": {"file": "orders.csv", "validation_fraction": 0.2, "test_fraction": 0.3,
                 "columns": {"size": "numeric", "shop": "categorical", "customer": "id", "note": "text"}},
        "tasks": [{"name": "price", "kind": "regression", "metrics": ["rmse"]},
                  {"name": "returned", "kind": "binary", "metrics": ["auc"]},
                  {"name": "tier", "kind": "classification", "classes": 3}],
        "model": {"trunk": "features", "trunk_options": {"units": [8], "embedding_dim": 2}, "sharing": "hard"},
        "training": {"epochs": 3, "batch_size": 32},
    }
    (folder / "orders.yaml").write_text(yaml.safe_dump(recipe))
    output = io.StringIO()
    with redirect_stdout(output):
        result = load_script().main(["--quick", "--recipe", str(folder / "orders.yaml"),
                                     "--output-dir", str(folder / "results")])
    return folder, result, output.getvalue()


def test_quick_run_prints_and_writes_one_row_per_task(quick_run):
    folder, result, output = quick_run
    rows = {row["task"]: row for row in result["rows"]}
    assert sorted(rows) == ["price", "returned", "tier"]
    assert {task: row["metric"] for task, row in rows.items()} == {"price": "rmse", "returned": "auc", "tier": "accuracy"}
    assert json.loads((folder / "results" / "tabular_baselines.json").read_text())["rows"] == result["rows"]
    markdown = (folder / "results" / "tabular_baselines.md").read_text()
    assert markdown.count("| `orders` |") == 3
    assert "gradient boosting" in output.lower() and "orders  price" in output
    for row in rows.values():
        assert row["best"] in ("multi_task", "single_task", "gradient_boosting")
        pick = min if row["metric"] == "rmse" else max
        assert row[row["best"]] == pick(row["multi_task"], row["single_task"], row["gradient_boosting"])


def test_gradient_boosting_learns_what_the_columns_say(quick_run):
    _, result, _ = quick_run
    rows = {row["task"]: row for row in result["rows"]}
    assert rows["tier"]["test_rows"] == round(0.3 * ROWS)  # every row of the test split has a tier
    assert rows["price"]["gradient_boosting"] < 1.5  # price = 2 size + 5 [south] + noise: std of price is about 7
    assert rows["tier"]["gradient_boosting"] > 0.9  # tier is a threshold of size
    assert rows["returned"]["gradient_boosting"] > 0.9  # returned = late note or size > 8


def test_figures_are_on_the_rows_the_product_scores(quick_run):
    folder, result, _ = quick_run
    frame = pd.read_csv(folder / "orders.csv")
    rows = {row["task"]: row for row in result["rows"]}
    assert rows["returned"]["test_rows"] < rows["tier"]["test_rows"]  # rows without a label are left out
    assert rows["returned"]["test_rows"] + frame["returned"].isna().sum() >= rows["tier"]["test_rows"]
    # sklearn on the benchmark's rows agrees with the metrics Keras computed on the product's test split.
    for model in ("multi_task", "single_task"):
        keras_metrics = {task: row["keras_metrics"][model] for task, row in rows.items()}
        assert rows["price"][model] == pytest.approx(keras_metrics["price"]["rmse"], abs=1e-3)
        assert rows["tier"][model] == pytest.approx(keras_metrics["tier"]["accuracy"], abs=1e-4)  # rounded to 4 places
        assert rows["returned"][model] == pytest.approx(keras_metrics["returned"]["auc"], abs=0.02)  # 200 thresholds
