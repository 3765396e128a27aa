"""Benchmark: TF-IDF + linear models per task vs the multi-task text recipes on `movie_titles` and `seattle_pets`.

The baseline a text user reaches for: scikit-learn `TfidfVectorizer` on word
1-2-grams and character 2-4-grams (within word boundaries, `char_wb`), both
fitted on the training texts with `min_df=2` and sublinear term frequency,
then per task a linear model on the concatenated features.

`movie_titles` (film titles; recipes `movie_titles_hard`, `movie_titles_mmoe`):

- `genres` (multilabel): one `LogisticRegression` per genre
  (`OneVsRestClassifier`); micro-averaged ROC AUC over the 7 genre columns;
- `rating` (regression): `Ridge`; RMSE and MAE;
- `decade` (classification): multinomial `LogisticRegression`; accuracy.

A second reference row predicts from the training split's priors alone (each
genre's rate, the mean rating, the most frequent decade): the floor every
model must clear (micro AUC rewards knowing which genres are common, so it is
well above 0.5 here). They are fitted on the train split and scored on the test split of
`mtl_zoo.data.datasets.movie_titles`, beside the test metrics the multi-task recipes'
artifacts report (`saved_models/<recipe>/metrics.json`, written by
`mtl-zoo train`). Keras' AUC (what `metrics.json` holds for `genres`) is also
micro-averaged over the flattened genre columns, with 200 thresholds, so it
may differ from the exact AUC in the third decimal.

`seattle_pets` (pet names; recipe `seattle_pets_hard`): per task (`species`,
`primary_breed`, `secondary_breed`) a multinomial `LogisticRegression` fitted on
the training licences that have the label, its inverse regularization `C`
chosen among `PET_C_VALUES` by the cross-entropy on the validation licences
that have it, and scored on the test licences that have it (for
`secondary_breed`, the 44% with a secondary breed; the recipes' metrics skip
the same missing labels). Metrics: accuracy, top-5 accuracy (breeds) and the
cross-entropy of the test labels (`loss`, the figure `metrics.json` holds as
each task's `loss`). The priors row predicts each task's training class
frequencies for every licence (so its accuracy is the majority class's share).

Each data set's table is printed and written to its own files in
`benchmarks/results/`: `text_baselines.{json,md}` for `movie_titles`,
`text_baselines_seattle_pets.{json,md}` for `seattle_pets`, so one data set
can be run again without the other (`--data-set`).

Usage:

    python benchmarks/text_baselines.py [--data-set NAME ...] [--recipe RECIPE ...] [--artifact RECIPE=DIR ...]
                                        [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error, roc_auc_score
from sklearn.multiclass import OneVsRestClassifier

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ("movie_titles_hard", "movie_titles_mmoe")
# (task, metric, higher is better)
METRICS = (("genres", "auc", True), ("rating", "rmse", False), ("rating", "mae", False), ("decade", "accuracy", True))
PET_RECIPES = ("seattle_pets_hard",)
PET_TASKS = ("species", "primary_breed", "secondary_breed")
PET_METRICS = (
    ("species", "accuracy", True), ("species", "loss", False),
    ("primary_breed", "accuracy", True), ("primary_breed", "top_5_accuracy", True), ("primary_breed", "loss", False),
    ("secondary_breed", "accuracy", True), ("secondary_breed", "top_5_accuracy", True),
    ("secondary_breed", "loss", False),
)
PET_C_VALUES = (0.03, 0.1, 0.3, 1.0)  # inverse L2 strengths tried per task; the validation cross-entropy picks one
TOP_K = 5


def tf_idf_features(train_titles, test_titles):
    """Word 1-2-gram and character 2-4-gram TF-IDF of the titles, fitted on the training titles."""
    vectorizers = [
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True),
    ]
    train = scipy.sparse.hstack([vectorizer.fit_transform(train_titles) for vectorizer in vectorizers]).tocsr()
    test = scipy.sparse.hstack([vectorizer.transform(test_titles) for vectorizer in vectorizers]).tocsr()
    return train, test


def baseline_metrics(train, test) -> dict:
    """Fits the per-task linear models on `train` and returns their test metrics.

    Args:
        train: pandas DataFrame. The training split of `movie_titles`.
        test: pandas DataFrame. The test split.

    Returns:
        dict: task -> metric -> value, plus "seconds" (fit and score time).
    """
    start = time.perf_counter()
    x_train, x_test = tf_idf_features(train["title"], test["title"])
    genres_train, genres_test = np.asarray(train["genres"].tolist()), np.asarray(test["genres"].tolist())
    genres = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(x_train, genres_train)
    rating = Ridge(alpha=1.0).fit(x_train, train["rating"])
    decade = LogisticRegression(max_iter=1000).fit(x_train, train["decade"])
    rating_predicted = rating.predict(x_test)
    return {
        "genres": {"auc": float(roc_auc_score(genres_test.ravel(), genres.predict_proba(x_test).ravel()))},
        "rating": {"rmse": float(np.sqrt(mean_squared_error(test["rating"], rating_predicted))),
                   "mae": float(mean_absolute_error(test["rating"], rating_predicted))},
        "decade": {"accuracy": float(accuracy_score(test["decade"], decade.predict(x_test)))},
        "seconds": round(time.perf_counter() - start, 1),
    }


def prior_metrics(train, test) -> dict:
    """The test metrics of predicting from the training priors: genre rates, mean rating, majority decade."""
    genres_test = np.asarray(test["genres"].tolist())
    rates = np.asarray(train["genres"].tolist()).mean(axis=0)
    mean_rating = float(train["rating"].mean())
    return {
        "genres": {"auc": float(roc_auc_score(genres_test.ravel(), np.tile(rates, (len(test), 1)).ravel()))},
        "rating": {"rmse": float(np.sqrt(np.mean((test["rating"] - mean_rating) ** 2))),
                   "mae": float(np.mean(np.abs(test["rating"] - mean_rating)))},
        "decade": {"accuracy": float(np.mean(test["decade"] == train["decade"].mode()[0]))},
    }


def class_metrics(labels, probabilities, classes, top_k: bool) -> dict:
    """Accuracy, cross-entropy (`loss`) and, with `top_k`, top-5 accuracy of class probabilities.

    Args:
        labels: 1-D int array. The true class indices.
        probabilities: 2-D array. One column per entry of `classes`.
        classes: 1-D int array. The class index of each column.
        top_k: bool. Also report `top_5_accuracy`.
    """
    labels = np.asarray(labels)
    metrics = {"accuracy": float(np.mean(classes[np.argmax(probabilities, axis=1)] == labels)),
               "loss": float(log_loss(labels, probabilities, labels=classes))}
    if top_k:
        top = classes[np.argsort(-np.asarray(probabilities), axis=1, kind="stable")[:, :TOP_K]]
        metrics["top_5_accuracy"] = float(np.mean((top == labels[:, None]).any(axis=1)))
    return metrics


def observed(frame, task: str):
    """The rows of `frame` whose `task` label is observed (not -1)."""
    return frame[frame[task].to_numpy() >= 0]


def pet_prior_metrics(train, test) -> dict:
    """Test metrics of predicting each task's training class frequencies; missing labels (-1) left out."""
    metrics = {}
    for task in PET_TASKS:
        train_labels, test_labels = observed(train, task)[task], observed(test, task)[task]
        frequencies = train_labels.value_counts(normalize=True).sort_index()
        classes = frequencies.index.to_numpy()
        probabilities = np.tile(frequencies.to_numpy(), (len(test_labels), 1))
        metrics[task] = class_metrics(test_labels, probabilities, classes, top_k=task != "species")
    return metrics


def pet_baseline_metrics(train, validation, test, c_values=PET_C_VALUES) -> dict:
    """Per task, TF-IDF + logistic regression on the names, `C` chosen on validation; test metrics.

    Args:
        train, validation, test: pandas DataFrames. Splits of `seattle_pets`
            (`animal_name` and one class-index column per task, -1 = missing).
        c_values: tuple of float. The `C` values tried per task.

    Returns:
        dict: task -> metric -> value (and "C", the chosen value), plus
        "seconds" (fit and score time).
    """
    start = time.perf_counter()
    names = {"train": train["animal_name"], "validation": validation["animal_name"], "test": test["animal_name"]}
    x_train, x_held_out = tf_idf_features(names["train"], list(names["validation"]) + list(names["test"]))
    x_validation, x_test = x_held_out[:len(validation)], x_held_out[len(validation):]
    metrics = {}
    for task in PET_TASKS:
        rows = {split: frame[task].to_numpy() >= 0 for split, frame in
                (("train", train), ("validation", validation), ("test", test))}
        y_train = train[task].to_numpy()[rows["train"]]
        y_validation = validation[task].to_numpy()[rows["validation"]]
        best = None
        for c in c_values:
            model = LogisticRegression(C=c, max_iter=1000).fit(x_train[rows["train"]], y_train)
            loss = log_loss(y_validation, model.predict_proba(x_validation[rows["validation"]]),
                            labels=model.classes_)
            if best is None or loss < best[0]:
                best = (loss, c, model)
        _, c, model = best
        y_test = test[task].to_numpy()[rows["test"]]
        metrics[task] = {**class_metrics(y_test, model.predict_proba(x_test[rows["test"]]), model.classes_,
                                         top_k=task != "species"), "C": c}
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    return metrics


def recipe_metrics(recipe: str, artifact=None):
    """The test metrics in `<artifact>/metrics.json` (default `saved_models/<recipe>`), or None when not trained."""
    path = Path(artifact or ROOT / "saved_models" / recipe) / "metrics.json"
    return json.loads(path.read_text())["test"] if path.exists() else None


def comparison(value: float, baseline: float, higher_is_better: bool) -> str:
    """ "matches or beats" or "behind by <difference>" (the recipe's value against the baseline's)."""
    gap = (baseline - value) if higher_is_better else (value - baseline)
    return "matches or beats" if gap <= 0 else f"behind by {gap:.4f}"


def markdown_table(results: dict, metrics=METRICS) -> str:
    """One row per (task, metric) of `metrics`: the baseline and every trained recipe."""
    recipes = [recipe for recipe, metrics in results["recipes"].items() if metrics]
    lines = ["| task | metric | training priors | TF-IDF + linear | " + " | ".join(recipes) + " |",
             "|---|---|---|---|" + "---|" * len(recipes)]
    for task, metric, _ in metrics:
        cells = [f"{results['recipes'][recipe][task][metric]:.4f}" for recipe in recipes]
        lines.append(f"| {task} | {metric} | {results['priors'][task][metric]:.4f} | "
                     f"{results['baseline'][task][metric]:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def movie_titles_results() -> dict:
    """Sizes, priors and TF-IDF baseline of `movie_titles`."""
    from mtl_zoo.data.datasets.movie_titles import title_frames

    frames = title_frames()
    return {"data": {split: len(frame) for split, frame in frames.items()},
            "priors": prior_metrics(frames["train"], frames["test"]),
            "baseline": baseline_metrics(frames["train"], frames["test"])}


def seattle_pets_results() -> dict:
    """Sizes (and observed labels per task), priors and TF-IDF baseline of `seattle_pets`."""
    from mtl_zoo.data.datasets.seattle_pets import pet_frames

    frames = pet_frames()
    data = {split: len(frame) for split, frame in frames.items()}
    data["observed_test_labels"] = {task: int((frames["test"][task] >= 0).sum()) for task in PET_TASKS}
    return {"data": data,
            "priors": pet_prior_metrics(frames["train"], frames["test"]),
            "baseline": pet_baseline_metrics(frames["train"], frames["validation"], frames["test"])}


class DataSetBenchmark(NamedTuple):
    """What the script compares on one data set and where it writes the table."""

    recipes: tuple
    metrics: tuple
    results: Callable[[], dict]
    stem: str
    title: str


BENCHMARKS = {
    "movie_titles": DataSetBenchmark(RECIPES, METRICS, movie_titles_results, "text_baselines",
                                     "movie_titles: TF-IDF + linear models vs the multi-task recipes (test split)"),
    "seattle_pets": DataSetBenchmark(PET_RECIPES, PET_METRICS, seattle_pets_results, "text_baselines_seattle_pets",
                                     "seattle_pets: TF-IDF + logistic regression vs the multi-task recipe "
                                     "(test split, missing labels left out)"),
}


def run_data_set(benchmark: DataSetBenchmark, recipes, artifacts: dict, output: Path) -> dict:
    """Computes one data set's table, prints it and writes `<stem>.json` and `<stem>.md` into `output`."""
    results = benchmark.results()
    results["recipes"] = {recipe: recipe_metrics(recipe, artifacts.get(recipe)) for recipe in recipes}
    if any(recipe in artifacts for recipe in recipes):
        results["artifacts"] = {recipe: artifacts[recipe] for recipe in recipes if recipe in artifacts}
    results["versions"] = {"scikit-learn": sklearn.__version__}
    results["comparison"] = {
        recipe: {f"{task}.{metric}": comparison(metrics[task][metric], results["baseline"][task][metric], higher)
                 for task, metric, higher in benchmark.metrics}
        for recipe, metrics in results["recipes"].items() if metrics
    }
    table = markdown_table(results, benchmark.metrics)
    print(table)
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{benchmark.stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (output / f"{benchmark.stem}.md").write_text(
        f"# {benchmark.title}\n\n" + table
        + "\n" + "\n".join(f"- {recipe}: " + ", ".join(f"{name} {verdict}" for name, verdict in verdicts.items())
                            for recipe, verdicts in results["comparison"].items()) + "\n")
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-set", action="append", choices=sorted(BENCHMARKS),
                        help="data set to run (repeatable; default: all)")
    parser.add_argument("--recipe", action="append",
                        help="recipe artifact to compare (default: the data set's recipes; with one --data-set)")
    parser.add_argument("--artifact", action="append", default=[], metavar="RECIPE=DIR",
                        help="read RECIPE's metrics.json from DIR instead of saved_models/RECIPE")
    parser.add_argument("--output-dir", default=str(ROOT / "benchmarks" / "results"))
    arguments = parser.parse_args(argv)
    if any("=" not in item for item in arguments.artifact):
        parser.error(f"--artifact takes RECIPE=DIR. Received: {arguments.artifact}")
    artifacts = dict(item.split("=", 1) for item in arguments.artifact)
    names = arguments.data_set or sorted(BENCHMARKS)
    if arguments.recipe and len(names) > 1:
        parser.error("--recipe needs exactly one --data-set (the recipes must be trained on it)")
    return {name: run_data_set(BENCHMARKS[name], arguments.recipe or BENCHMARKS[name].recipes, artifacts,
                               Path(arguments.output_dir))
            for name in names}


if __name__ == "__main__":
    main()
