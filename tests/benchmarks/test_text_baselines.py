"""`benchmarks/text_baselines.py` on tiny hand-made title frames: priors, the TF-IDF models and the verdicts."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("text_baselines", ROOT / "benchmarks" / "text_baselines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame(titles, genres, ratings, decades):
    return pd.DataFrame({"title": titles, "genres": [list(map(float, row)) for row in genres],
                         "rating": np.asarray(ratings, "float32"), "decade": np.asarray(decades, "int32")})


@pytest.fixture(scope="module")
def script():
    return load_script()


def test_priors_by_hand(script):
    train = frame(["a", "b", "c", "d"], [[1, 0], [1, 0], [0, 1], [1, 0]], [2.0, 4.0, 6.0, 8.0], [1, 1, 2, 3])
    test = frame(["e", "f"], [[1, 0], [0, 0]], [5.0, 9.0], [1, 2])
    priors = script.prior_metrics(train, test)
    # every test row scores 0.75 for genre 0 and 0.25 for genre 1; positives: one 0.75 among negatives
    # 0.25, 0.75, 0.25 -> AUC = (1 win against each 0.25 + 0.5 tie) / 3
    assert priors["genres"]["auc"] == pytest.approx(2.5 / 3)
    assert priors["rating"]["rmse"] == pytest.approx(np.sqrt((0 ** 2 + 4 ** 2) / 2))  # mean 5
    assert priors["rating"]["mae"] == pytest.approx(2.0)
    assert priors["decade"]["accuracy"] == pytest.approx(0.5)  # majority decade 1


def test_tf_idf_models_learn_a_word_that_decides_the_labels(script):
    words = ["war", "love", "dog", "night", "city", "road", "blue", "king"]
    titles = [f"{word} story {i}" for i in range(40) for word in words]
    is_war = np.array([title.startswith("war") for title in titles])
    train = frame(titles, np.stack([is_war, ~is_war], 1), np.where(is_war, 8.0, 5.0), np.where(is_war, 3, 7))
    metrics = script.baseline_metrics(train, train)
    assert metrics["genres"]["auc"] > 0.99 and metrics["decade"]["accuracy"] == 1.0
    assert metrics["rating"]["rmse"] < 0.5 < 3 * np.std(train["rating"])


def test_verdicts_respect_the_direction_of_each_metric(script):
    assert script.comparison(0.81, 0.80, higher_is_better=True) == "matches or beats"
    assert script.comparison(0.79, 0.80, higher_is_better=True) == "behind by 0.0100"
    assert script.comparison(1.50, 1.50, higher_is_better=False) == "matches or beats"
    assert script.comparison(1.55, 1.50, higher_is_better=False) == "behind by 0.0500"
