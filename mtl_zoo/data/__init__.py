"""Data sets: registered `DataSource`s and the TFDS builders behind them.

Importing this package registers the TFDS builders `multi_digits` and
`multi_mnist` and their data sources in `mtl_zoo.registry.DATASETS`, so
`tfds.load("multi_digits")` works offline.

`load(name, split, batch_size=...)` returns a split as batches of
`(features, labels)` ready for `model.fit`.

Example:

>>> import mtl_zoo.data
>>> from mtl_zoo.registry import DATASETS
>>> DATASETS.get("multi_digits").inputs["image"].shape
(12, 20, 1)
>>> train = mtl_zoo.data.load("multi_digits", "train", batch_size=64)  # doctest: +SKIP
"""

from mtl_zoo.data import multi_digits, multi_mnist, source, two_digits
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec, load

__all__ = [
    "DataSource",
    "InputSpec",
    "LabelSpec",
    "load",
    "multi_digits",
    "multi_mnist",
    "source",
    "two_digits",
]
