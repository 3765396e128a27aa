"""Benchmark: TF-IDF + linear models per task vs the multi-task text recipes on `movie_titles`.

The baseline a text user reaches for: scikit-learn `TfidfVectorizer` on word
1-2-grams and character 2-4-grams (within word boundaries, `char_wb`), both
fitted on the training titles with `min_df=2` and sublinear term frequency,
then per task a linear model on the concatenated features:

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

The table is printed and written to `benchmarks/results/text_baselines.{json,md}`.

Usage:

    python benchmarks/text_baselines.py [--recipe RECIPE ...] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, roc_auc_score
from sklearn.multiclass import OneVsRestClassifier

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ("movie_titles_hard", "movie_titles_mmoe")
# (task, metric, higher is better)
METRICS = (("genres", "auc", True), ("rating", "rmse", False), ("rating", "mae", False), ("decade", "accuracy", True))


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


def recipe_metrics(recipe: str):
    """The test metrics in `saved_models/<recipe>/metrics.json`, or None when it has not been trained."""
    path = ROOT / "saved_models" / recipe / "metrics.json"
    return json.loads(path.read_text())["test"] if path.exists() else None


def comparison(value: float, baseline: float, higher_is_better: bool) -> str:
    """ "matches or beats" or "behind by <difference>" (the recipe's value against the baseline's)."""
    gap = (baseline - value) if higher_is_better else (value - baseline)
    return "matches or beats" if gap <= 0 else f"behind by {gap:.4f}"


def markdown_table(results: dict) -> str:
    """One row per (task, metric): the baseline and every trained recipe."""
    recipes = [recipe for recipe, metrics in results["recipes"].items() if metrics]
    lines = ["| task | metric | training priors | TF-IDF + linear | " + " | ".join(recipes) + " |",
             "|---|---|---|---|" + "---|" * len(recipes)]
    for task, metric, _ in METRICS:
        cells = [f"{results['recipes'][recipe][task][metric]:.4f}" for recipe in recipes]
        lines.append(f"| {task} | {metric} | {results['priors'][task][metric]:.4f} | "
                     f"{results['baseline'][task][metric]:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", action="append", help="recipe artifact to compare (default: both)")
    parser.add_argument("--output-dir", default=str(ROOT / "benchmarks" / "results"))
    arguments = parser.parse_args(argv)
    from mtl_zoo.data.datasets.movie_titles import title_frames

    frames = title_frames()
    results = {
        "data": {split: len(frame) for split, frame in frames.items()},
        "priors": prior_metrics(frames["train"], frames["test"]),
        "baseline": baseline_metrics(frames["train"], frames["test"]),
        "recipes": {recipe: recipe_metrics(recipe) for recipe in (arguments.recipe or RECIPES)},
        "versions": {"scikit-learn": sklearn.__version__},
    }
    results["comparison"] = {
        recipe: {f"{task}.{metric}": comparison(metrics[task][metric], results["baseline"][task][metric], higher)
                 for task, metric, higher in METRICS}
        for recipe, metrics in results["recipes"].items() if metrics
    }
    table = markdown_table(results)
    print(table)
    output = Path(arguments.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "text_baselines.json").write_text(json.dumps(results, indent=2) + "\n")
    (output / "text_baselines.md").write_text(
        "# movie_titles: TF-IDF + linear models vs the multi-task recipes (test split)\n\n" + table
        + "\n" + "\n".join(f"- {recipe}: " + ", ".join(f"{name} {verdict}" for name, verdict in verdicts.items())
                            for recipe, verdicts in results["comparison"].items()) + "\n")
    return results


if __name__ == "__main__":
    main()
