"""Benchmark: multi-task vs single-task models vs gradient boosting on the tabular recipes.

For every tabular recipe (`movielens_hard`, `movielens_mmoe`,
`movielens_ple`, `loans_mmoe`, and `census_income_mmoe` when its files are
in the recipe's `data.data_dir`), per task, on the recipe's test split:

- the multi-task model the recipe trains (`mtl_zoo.training.run.train_recipe`);
- the task's single-task model, trained on the same trunk, options and
  budget (`mtl_zoo.training.single_task.train_single_task_baselines`, what
  `mtl-zoo train --single-task` reports);
- scikit-learn's `HistGradientBoostingRegressor` / `...Classifier` with its
  default settings (`random_state` = the recipe's seed), fitted on the same
  training rows, the baseline a tabular user reaches for.

Every figure is computed by `sklearn.metrics` on the same test rows (rows
whose label is missing are left out for that task): ROC AUC for binary
tasks, accuracy for classification, RMSE for regression. The Keras metrics
the product itself reports (`metrics.json`) are kept in the JSON too; Keras'
AUC is a 200-threshold approximation, so it may differ in the third decimal.

Columns for gradient boosting: numeric columns as they are (NaN is handled
natively); categorical and id columns with at most 255 distinct training
values as `categorical_features`, and with more (user and film ids) as
target encodings (`sklearn.preprocessing.TargetEncoder`, cross-fitted on the
training rows); text columns hashed into 64 word-count columns
(`sklearn.feature_extraction.text.HashingVectorizer`).

Run as a script, it trains as `mtl-zoo train` does (op determinism on,
oneDNN off), so the multi-task figures are those of the recipes' artifacts.
The table is printed and written to `benchmarks/results/tabular_baselines.{json,md}`.

Usage:

    python benchmarks/tabular_baselines.py [--quick] [--recipe RECIPE ...] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # as `mtl-zoo train`: the same CPU numerics on every run

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.feature_extraction.text import HashingVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402
from sklearn.preprocessing import TargetEncoder  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from mtl_zoo.data.batching import materialize  # noqa: E402
from mtl_zoo.data.tables.files import recipe_data_source  # noqa: E402
from mtl_zoo.errors import DataError  # noqa: E402
from mtl_zoo.recipes.loading import load_recipe  # noqa: E402
from mtl_zoo.training.single_task import train_single_task_baselines  # noqa: E402
from mtl_zoo.training.run import train_recipe  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RECIPES = ("movielens_hard", "movielens_mmoe", "movielens_ple", "loans_mmoe", "census_income_mmoe")
METRIC_OF_KIND = {"binary": "auc", "classification": "accuracy", "regression": "rmse"}
MAX_CATEGORIES = 255  # HistGradientBoosting's limit for a categorical feature
TEXT_HASH_FEATURES = 64
MODEL_NAMES = {"multi_task": "multi-task", "single_task": "single-task", "gradient_boosting": "gradient boosting"}
QUICK_OVERRIDES = ["training.epochs=1"]
QUICK_BOOSTING_ITERATIONS = 20


# === Data ===


def split_arrays(recipe, split: str) -> tuple:
    """`(features, labels)` numpy dicts of a split of the recipe's data, in the order the models see it."""
    source = recipe_data_source(recipe)
    (features, labels), _ = materialize(source.load_split(split, data_dir=recipe.data.data_dir))
    return ({name: value.numpy() for name, value in features.items()},
            {name: value.numpy() for name, value in labels.items()})


def predict(model, features: dict) -> dict:
    """The model's outputs on raw feature columns (numpy dicts), as numpy arrays."""
    return model.predict(tf.data.Dataset.from_tensor_slices(features).batch(4096), verbose=0)


def decoded(values: np.ndarray) -> np.ndarray:
    return np.array([value.decode() for value in values], dtype=object) if values.dtype == object else values


class BoostingColumns:
    """Turns raw feature columns into a frame HistGradientBoosting takes (see the module doc).

    Args:
        inputs: dict. Input name -> `InputSpec` of the data source.
        train_features: dict. Input name -> numpy values of the training rows.
    """

    def __init__(self, inputs: dict, train_features: dict):
        self.inputs = inputs
        self.categories, self.encoded, self.text = {}, [], []
        for name, spec in inputs.items():
            values = decoded(train_features[name])
            if spec.feature_type in ("categorical", "id"):
                distinct = pd.unique(values)
                if len(distinct) <= MAX_CATEGORIES:
                    self.categories[name] = pd.CategoricalDtype(sorted(distinct))
                else:
                    self.encoded.append(name)
            elif spec.feature_type == "text":
                self.text.append(name)
        self.hasher = HashingVectorizer(n_features=TEXT_HASH_FEATURES, alternate_sign=False, norm=None)

    def frame(self, features: dict) -> pd.DataFrame:
        """Numeric, categorical and hashed text columns (target-encoded columns are added per task)."""
        columns = {}
        for name, spec in self.inputs.items():
            values = decoded(features[name])
            if name in self.categories:
                columns[name] = pd.Series(values).astype(self.categories[name])
            elif name in self.text:
                counts = self.hasher.transform(values).toarray()
                columns.update({f"{name}_hash_{index}": counts[:, index] for index in range(counts.shape[1])})
            elif name not in self.encoded:
                columns[name] = np.asarray(values, dtype="float64")
        return pd.DataFrame(columns)

    def raw_encoded(self, features: dict) -> pd.DataFrame:
        rows = len(next(iter(features.values())))
        return pd.DataFrame({name: decoded(features[name]).astype(str) for name in self.encoded}, index=range(rows))


def observed(kind: str, labels: np.ndarray) -> np.ndarray:
    return labels >= 0 if kind == "classification" else ~np.isnan(labels)


def score(kind: str, labels: np.ndarray, outputs: np.ndarray) -> float:
    """The task's benchmark metric from sklearn.metrics: AUC, accuracy or RMSE."""
    if kind == "binary":
        return float(roc_auc_score(labels, outputs.reshape(-1)))
    if kind == "classification":
        return float(accuracy_score(labels, outputs.argmax(axis=-1)))
    return float(math.sqrt(mean_squared_error(labels, outputs.reshape(-1))))


def boosting_outputs(kind: str, columns: BoostingColumns, train: tuple, test: tuple, seed: int,
                     max_iter: int) -> np.ndarray:
    """Fits gradient boosting on the observed training rows of one task; its test outputs."""
    (train_frame, train_encoded, train_labels), (test_frame, test_encoded) = train, test
    if columns.encoded:
        target_type = {"binary": "binary", "classification": "multiclass", "regression": "continuous"}[kind]
        folds = (StratifiedKFold if kind != "regression" else KFold)(n_splits=5, shuffle=True, random_state=seed)
        encoder = TargetEncoder(target_type=target_type, cv=folds)
        encoded = encoder.fit_transform(train_encoded, train_labels)  # cross-fitted on the training rows
        names = [f"target_encoding_{index}" for index in range(encoded.shape[1])]
        train_frame = train_frame.assign(**dict(zip(names, encoded.T)))
        test_frame = test_frame.assign(**dict(zip(names, encoder.transform(test_encoded).T)))
    options = dict(categorical_features="from_dtype", random_state=seed, max_iter=max_iter)
    # One OpenMP thread: beside TensorFlow's thread pools in this process, two threads ran 20x slower.
    with threadpool_limits(1, user_api="openmp"):
        if kind == "regression":
            model = HistGradientBoostingRegressor(**options).fit(train_frame, train_labels)
            return model.predict(test_frame)
        model = HistGradientBoostingClassifier(**options).fit(train_frame, train_labels)
        probabilities = model.predict_proba(test_frame)
    return probabilities[:, 1] if kind == "binary" else probabilities


# === One recipe ===


def compare_recipe(recipe, max_iter: int) -> list:
    """Trains the recipe's multi-task and single-task models and gradient boosting; one row per task."""
    started = time.perf_counter()
    multi = train_recipe(recipe)
    baselines = train_single_task_baselines(recipe)
    report = baselines.report(multi)
    neural_seconds = time.perf_counter() - started
    train_features, train_labels = split_arrays(recipe, recipe.data.train_split)
    test_features, test_labels = split_arrays(recipe, recipe.data.test_split)
    multi_outputs = predict(multi.model, test_features)
    columns = BoostingColumns(recipe_data_source(recipe).inputs, train_features)
    train_frame, test_frame = columns.frame(train_features), columns.frame(test_features)
    train_encoded, test_encoded = columns.raw_encoded(train_features), columns.raw_encoded(test_features)
    rows = []
    for task in recipe.tasks:
        kind, label = task.kind, task.label_name
        keep_train, keep_test = observed(kind, train_labels[label]), observed(kind, test_labels[label])
        truth = test_labels[label][keep_test]
        single_outputs = predict(baselines.results[task.name].model, test_features)
        started = time.perf_counter()
        boosted = boosting_outputs(
            kind, columns,
            (train_frame[keep_train], train_encoded[keep_train], train_labels[label][keep_train]),
            (test_frame[keep_test], test_encoded[keep_test]), recipe.seed, max_iter,
        )
        metric = METRIC_OF_KIND[kind]
        figures = {
            "multi_task": score(kind, truth, np.asarray(multi_outputs[task.name])[keep_test]),
            "single_task": score(kind, truth, np.asarray(single_outputs[task.name])[keep_test]),
            "gradient_boosting": score(kind, truth, boosted),
        }
        pick = min if metric == "rmse" else max
        rows.append({
            "recipe": recipe.name, "task": task.name, "kind": kind, "metric": metric,
            **{name: round(value, 4) for name, value in figures.items()},
            "best": pick(figures, key=figures.get),
            "test_rows": int(keep_test.sum()),
            "keras_metrics": {"multi_task": multi.test_metrics[task.name],
                              "single_task": report["single_task"][task.name]},
            "single_task_sharing": report["single_task_models"][task.name]["sharing"],
            "delta_m": round(report["delta_m"], 3),
            "neural_seconds": round(neural_seconds, 1),
            "boosting_seconds": round(time.perf_counter() - started, 1),
        })
    return rows


def recipe_missing_data(recipe):
    """None if the recipe's training split loads, else why it does not (e.g. census files not present)."""
    try:
        recipe_data_source(recipe).load_split(recipe.data.train_split, data_dir=recipe.data.data_dir)
    except DataError as error:
        return str(error)
    return None


# === Output ===


def format_table(rows: list) -> str:
    header = ["recipe", "task", "metric", "multi-task", "single-task", "boosting", "best"]
    cells = [header] + [[row["recipe"], row["task"], row["metric"], f"{row['multi_task']:.4f}",
                         f"{row['single_task']:.4f}", f"{row['gradient_boosting']:.4f}", row["best"]]
                        for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)


def markdown_table(rows: list) -> str:
    lines = ["| recipe | task | metric | multi-task | single-task | gradient boosting | best | Δm of the recipe |",
             "|---|---|---|---:|---:|---:|---|---:|"]
    for row in rows:
        cells = [f"`{row['recipe']}`", row["task"], row["metric"]]
        for name in ("multi_task", "single_task", "gradient_boosting"):
            text = f"{row[name]:.4f}"
            cells.append(f"**{text}**" if row["best"] == name else text)
        cells += [MODEL_NAMES[row["best"]], f"{row['delta_m']:+.2f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"1 epoch per model and {QUICK_BOOSTING_ITERATIONS} boosting iterations (a smoke run)")
    parser.add_argument("--recipe", action="append", default=None, metavar="RECIPE",
                        help="a recipe name or YAML file (repeatable; default: every tabular recipe)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS, help="where the json and md go")
    arguments = parser.parse_args(argv)
    overrides = QUICK_OVERRIDES if arguments.quick else []
    max_iter = QUICK_BOOSTING_ITERATIONS if arguments.quick else 100
    rows, skipped = [], {}
    for name in arguments.recipe or RECIPES:
        try:
            recipe = load_recipe(name, overrides)
        except DataError as error:
            skipped[name] = str(error)
            continue
        missing = recipe_missing_data(recipe)
        if missing:
            skipped[recipe.name] = missing
            print(f"Skipped {recipe.name}: {missing}", flush=True)
            continue
        print(f"{recipe.name}: training the multi-task model, {len(recipe.tasks)} single-task models and "
              f"gradient boosting ...", flush=True)
        keras.utils.clear_session()
        rows += compare_recipe(recipe, max_iter)
    table = format_table(rows)
    print(table)
    wins = [f"{row['recipe']}/{row['task']}" for row in rows if row["best"] == "gradient_boosting"]
    print(f"Gradient boosting is best on {len(wins)} of {len(rows)} tasks" + (f": {', '.join(wins)}" if wins else ""))
    result = {
        "quick": arguments.quick, "rows": rows, "skipped": skipped, "gradient_boosting_wins": wins,
        "boosting": {"max_iter": max_iter, "text_hash_features": TEXT_HASH_FEATURES,
                     "max_categories": MAX_CATEGORIES},
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                     "scikit-learn": sklearn.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    arguments.output_dir.mkdir(parents=True, exist_ok=True)
    (arguments.output_dir / "tabular_baselines.json").write_text(json.dumps(result, indent=2) + "\n")
    skipped_text = "".join(f"\n\nSkipped `{name}`: {reason}" for name, reason in skipped.items())
    (arguments.output_dir / "tabular_baselines.md").write_text(
        "# Tabular recipes: multi-task vs single-task vs gradient boosting\n\n"
        f"Test split of each recipe; AUC, accuracy and RMSE by sklearn.metrics on the same rows; "
        f"{'quick run (1 epoch)' if arguments.quick else 'the recipes as they are'}; written by "
        f"`benchmarks/tabular_baselines.py` on {result['created']}.\n\n{markdown_table(rows)}\n\n"
        f"Gradient boosting is best on {len(wins)} of {len(rows)} tasks"
        + (f" ({', '.join(wins)})" if wins else "") + f".{skipped_text}\n")
    return result


if __name__ == "__main__":
    tf.config.experimental.enable_op_determinism()  # as `mtl-zoo train` does by default
    main()
