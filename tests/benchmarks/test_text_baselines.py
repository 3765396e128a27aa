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


def pets(names, species, primary, secondary):
    return pd.DataFrame({"animal_name": names, "species": np.asarray(species, "int32"),
                         "primary_breed": np.asarray(primary, "int32"),
                         "secondary_breed": np.asarray(secondary, "int32")})


def test_pet_priors_by_hand_leave_missing_labels_out(script):
    train = pets(["a", "b", "c", "d", "e"], [0, 0, 0, 1, 0], [0, 1, 2, 3, 4], [2, 2, -1, -1, 1])
    test = pets(["f", "g", "h"], [0, 1, 0], [0, 4, 3], [-1, 2, 1])
    priors = script.pet_prior_metrics(train, test)
    assert priors["species"]["accuracy"] == pytest.approx(2 / 3)  # majority species 0
    assert priors["species"]["loss"] == pytest.approx(-(2 * np.log(0.8) + np.log(0.2)) / 3)
    # primary breeds: five classes of 1/5, so the top 5 hold every label
    assert priors["primary_breed"]["loss"] == pytest.approx(np.log(5))
    assert priors["primary_breed"]["top_5_accuracy"] == 1.0
    # secondary breeds: the training frequencies of the 3 observed labels (2: 2/3, 1: 1/3), the missing ones left
    # out on both sides; the test licences that have one hold one 2 and one 1
    assert priors["secondary_breed"]["accuracy"] == pytest.approx(0.5)
    assert priors["secondary_breed"]["loss"] == pytest.approx(-(np.log(2 / 3) + np.log(1 / 3)) / 2)


def test_pet_baseline_learns_a_decisive_ending_and_skips_missing_labels(script):
    stems = ["bel", "lu", "max", "rom", "kip", "zed", "sol", "ari"]
    names = [f"{stem}{ending}" for _ in range(30) for stem in stems for ending in ("ko", "pi")]
    is_ko = np.array([name.endswith("ko") for name in names])
    secondary = np.where(np.arange(len(names)) % 3 == 0, -1, np.where(is_ko, 1, 2))
    frame = pets(names, np.where(is_ko, 1, 0), np.where(is_ko, 5, 6), secondary)
    metrics = script.pet_baseline_metrics(frame, frame, frame, c_values=(1.0, 10.0))
    assert metrics["species"]["accuracy"] == 1.0 and metrics["primary_breed"]["accuracy"] == 1.0
    assert metrics["secondary_breed"]["accuracy"] == 1.0 and metrics["secondary_breed"]["C"] == 10.0
    assert metrics["species"]["loss"] < 0.3 and metrics["primary_breed"]["top_5_accuracy"] == 1.0


def test_recipe_needs_one_data_set(script):
    with pytest.raises(SystemExit):
        script.main(["--recipe", "seattle_pets_hard"])
