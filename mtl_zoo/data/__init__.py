"""Data sets: registered `DataSource`s and the TFDS builders behind them.

Importing this package registers the TFDS builders `multi_digits` and
`multi_mnist`, so `tfds.load("multi_digits")` works offline.
"""

from mtl_zoo.data import multi_digits, multi_mnist, source
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec

__all__ = ["DataSource", "InputSpec", "LabelSpec", "multi_digits", "multi_mnist", "source"]
