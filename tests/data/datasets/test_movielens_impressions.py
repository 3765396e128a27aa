"""MovieLens impressions for ESMM: clicks, sampled non-clicks, and CVR labelled on clicks only."""

import itertools

import numpy as np
import pandas as pd
import pytest

from mtl_zoo.data.datasets.movielens import raw_ratings, rating_frames
from mtl_zoo.data.datasets.movielens_impressions import impression_frames, sample_unrated
from mtl_zoo.registry import DATASETS


@pytest.fixture(scope="module")
def frames():
    return impression_frames()


def test_split_sizes_are_three_impressions_per_rating(frames):
    ratings = rating_frames()
    for split, frame in frames.items():
        assert len(frame) == 3 * len(ratings[split]), split
        assert frame["ctr"].sum() == len(ratings[split])
    assert {split: len(frame) for split, frame in frames.items()} == {
        "train": 241680, "validation": 29166, "test": 29166}


def test_clicks_are_the_ratings_of_the_same_split(frames):
    for split, frame in frames.items():
        clicks = frame[frame.ctr == 1]
        ratings = rating_frames()[split]
        assert set(zip(clicks.user_id, clicks.movie_id)) == set(zip(ratings.user_id, ratings.movie_id))
        merged = clicks.merge(ratings, on=["user_id", "movie_id"], suffixes=("", "_rating"))
        np.testing.assert_array_equal(merged["cvr"], merged["liked"])


def test_non_clicks_are_films_the_user_never_rated_shown_once(frames):
    impressions = pd.concat(frames.values())
    non_clicks = impressions[impressions.ctr == 0]
    rated = set(zip(raw_ratings().userId, raw_ratings().movieId))
    assert not rated & set(zip(non_clicks.user_id, non_clicks.movie_id))
    assert not impressions.duplicated(["user_id", "movie_id"]).any()
    per_user = impressions.groupby(["user_id", "split"]).ctr.agg(["sum", "size"])
    assert (per_user["size"] == 3 * per_user["sum"]).all()  # each user's non-clicks follow their clicks' split


def test_esmm_label_semantics(frames):
    for frame in frames.values():
        click = frame["ctr"].to_numpy()
        assert set(np.unique(click)) == {0.0, 1.0}
        assert np.all(np.isnan(frame["cvr"]) == (click == 0))  # CVR is observed on clicks only
        np.testing.assert_array_equal(frame["ctcvr"], np.where(click == 1, frame["cvr"], 0.0))
        assert frame["ctcvr"].sum() < frame["ctr"].sum()


def test_non_clicks_favour_popular_films(frames):
    impressions = pd.concat(frames.values())
    popularity = raw_ratings().movieId.value_counts()
    shown = popularity.reindex(impressions[impressions.ctr == 0].movie_id).to_numpy()
    assert shown.mean() > 3 * popularity.mean()


def test_sampling_without_replacement_matches_the_closed_form():
    weights = np.array([1.0, 2.0, 7.0])
    users = np.arange(30000)
    drawn = sample_unrated(users, pd.MultiIndex.from_arrays([[], []]), np.array([10, 11, 12]), weights,
                           np.full(len(users), 2), seed=3)
    pairs = drawn.groupby("user_id").movie_id.apply(lambda films: tuple(sorted(films)))
    total = weights.sum()
    for a, b in itertools.combinations(range(3), 2):
        # P(first a, then b) + P(first b, then a) when each draw is proportional to the remaining weights
        expected = weights[a] / total * weights[b] / (total - weights[a]) + \
            weights[b] / total * weights[a] / (total - weights[b])
        assert np.mean(pairs == (10 + a, 10 + b)) == pytest.approx(expected, abs=0.01)


def test_the_cvr_loss_never_sees_a_non_click_row(frames):
    import keras

    from mtl_zoo import Task, build_model
    from mtl_zoo.trunks.features import features

    source = DATASETS.get("movielens_impressions")
    keras.utils.set_random_seed(0)
    trunk = features(source.inputs, units=[8], embedding_dim=4, text_output="embedding_bag")
    trunk.adapt(source.load_split("validation").take(5000).map(lambda features, labels: features))
    model = build_model(source.inputs, trunk, [Task("ctr", "binary"), Task("cvr", "binary")])
    batch = frames["test"].iloc[:512]
    inputs = {name: batch[name].to_numpy(spec.dtype if spec.dtype != "string" else object)
              for name, spec in source.inputs.items()}
    labels = {name: batch[name].to_numpy("float32") for name in ("ctr", "cvr")}
    predictions = {name: value.numpy().ravel() for name, value in model(inputs).items()}
    losses, counts = model.compute_task_losses(labels, predictions)

    clicked = batch["ctr"].to_numpy() == 1
    p, y = predictions["cvr"][clicked], labels["cvr"][clicked]
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert float(counts["cvr"]) == clicked.sum() < 512
    assert float(losses["cvr"]) == pytest.approx(expected, rel=1e-5)
    predictions["cvr"][~clicked] = 1e-6  # confident and wrong on non-clicks would be a large loss
    assert float(model.compute_task_losses(labels, predictions)[0]["cvr"]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_the_esmm_recipe_trains_from_the_cli_and_its_saved_model_takes_raw_values(frames, tmp_path):
    import io
    import json
    from contextlib import redirect_stdout

    import tensorflow as tf

    import mtl_zoo
    from mtl_zoo.cli import main

    artifact = tmp_path / "esmm"
    with redirect_stdout(io.StringIO()) as output:  # train on the 29,166 validation impressions: a few steps
        status = main(["train", "movielens_impressions_esmm", "--output", str(artifact), "--set",
                       "data.train_split=validation", "--set", "data.validation_split=null", "--set",
                           "training.early_stopping=null", "--set",
                       "training.epochs=1", "--set", "training.learning_rate=0.01"])
    assert status == 0, output.getvalue()
    metrics = json.loads((artifact / "metrics.json").read_text())
    assert sorted(metrics["test"]) == ["ctcvr", "ctr"]  # cvr is an output without a loss
    assert metrics["test"]["ctr"]["auc"] > 0.6
    assert {name: card["dtype"] for name, card in metrics["inputs"].items()} == {
        "user_id": "int64", "movie_id": "int64", "genres": "string", "year": "float32"}

    rows = frames["test"].iloc[:64].copy()
    rows.loc[rows.index[0], ["movie_id", "genres"]] = [10**9, "Telenovela Western"]  # never seen in training
    raw = {"user_id": tf.constant(rows.user_id.to_numpy("int64")),
           "movie_id": tf.constant(rows.movie_id.to_numpy("int64")),
           "genres": tf.constant(rows.genres.to_numpy(object).astype(str)),
           "year": tf.constant(rows.year.to_numpy("float32"))}
    served = tf.saved_model.load(str(artifact / "saved_model")).signatures["serving_default"](**raw)
    served = {name: value.numpy().ravel() for name, value in served.items()}
    assert sorted(served) == ["ctcvr", "ctr", "cvr"]
    np.testing.assert_allclose(served["ctcvr"], served["ctr"] * served["cvr"], rtol=1e-5)
    assert np.all((served["cvr"] > 0) & (served["cvr"] < 1)) and np.isfinite(served["ctr"]).all()
    model = mtl_zoo.load_model(artifact / "model.keras")
    kept = model.predict(raw, verbose=0)
    for name in served:
        np.testing.assert_allclose(served[name], np.ravel(kept[name]), atol=1e-6)
