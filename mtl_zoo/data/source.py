"""`DataSource`: what a recipe needs to know about a data set, and how to load it.

A data source describes its model inputs (names, shapes, dtypes) and its labels
(one per possible task), and loads a split as an unbatched `tf.data.Dataset` of
`(features, labels)` pairs, both dicts keyed by name. Sources are registered in
`mtl_zoo.registry.DATASETS` under the name recipes use.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> source = DATASETS.get("multi_digits")
>>> sorted(source.labels)
['left_digit', 'right_digit']
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

from mtl_zoo.errors import DataError


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One model input.

    Args:
        shape: tuple. Shape of one example (no batch axis).
        dtype: str. Keras dtype of the input. Defaults to "float32".
    """

    shape: tuple
    dtype: str = "float32"


@dataclasses.dataclass(frozen=True)
class LabelSpec:
    """One label a data set provides, i.e. one task it can train.

    Args:
        kind: str. The task kind that fits the label ("classification",
            "binary", "multilabel" or "regression").
        classes: int. Number of classes (classification), labels (multilabel)
            or output units (regression, binary: 1).
        missing: str. How a missing value is written in this label
            ("-1" for class indices, "nan" for floats). Defaults to "nan".
    """

    kind: str
    classes: int = 1
    missing: str = "nan"


@dataclasses.dataclass(frozen=True)
class DataSource:
    """A registered data set.

    Args:
        name: str. Registry name.
        description: str. One line for `mtl-zoo list`.
        inputs: dict. Input name -> `InputSpec`.
        labels: dict. Label name -> `LabelSpec`.
        splits: tuple. Split names that `load` accepts; the recipe picks
            train/validation/test among them.
        load: callable. `load(split, data_dir=None)` returns an unbatched
            `tf.data.Dataset` of `(features, labels)` dicts.
        how_to_get: str. What a user must do if loading fails (e.g. where
            the source data must be). Defaults to "".
    """

    name: str
    description: str
    inputs: dict
    labels: dict
    splits: tuple
    load: Callable[..., "object"]
    how_to_get: str = ""

    def load_split(self, split: str, data_dir: Optional[str] = None):
        """Loads `split`, validating its name first."""
        if split not in self.splits:
            raise ValueError(
                f"Data set '{self.name}' has no split '{split}'; available: "
                f"{', '.join(self.splits)}. Received: split={split!r}"
            )
        try:
            return self.load(split, data_dir=data_dir)
        except Exception as error:  # any failure to build or read the data set
            first_line = (str(error).strip().splitlines() or [""])[0]
            if len(first_line) > 200:
                first_line = first_line[:200] + "..."
            raise DataError(
                f"Data set '{self.name}' (split '{split}') could not be loaded from "
                f"{data_dir or 'the default TFDS data folder'}: {type(error).__name__}: {first_line}"
                + (f". {self.how_to_get}" if self.how_to_get else "")
            ) from error
