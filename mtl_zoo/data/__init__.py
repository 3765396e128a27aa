"""Data sets: registered `DataSource`s and the TFDS builders behind them.

Importing this package registers the TFDS builders `multi_digits` and
`multi_mnist` and their data sources in `mtl_zoo.registry.DATASETS`, so
`tfds.load("multi_digits")` works offline.

Example:

>>> import mtl_zoo.data
>>> from mtl_zoo.registry import DATASETS
>>> DATASETS.get("multi_digits").inputs["image"].shape
(12, 20, 1)
"""

from mtl_zoo.data import multi_digits, multi_mnist, source, two_digits
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec

__all__ = ["DataSource", "InputSpec", "LabelSpec", "multi_digits", "multi_mnist", "source", "two_digits"]
