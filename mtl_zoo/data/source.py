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
        value_range: tuple or None. `(low, high)`, the inclusive range of the
            values the data set feeds (and an exported model expects).
            Defaults to None (not stated).
        description: str. What the input holds, for model cards. Defaults
            to "".
        feature_type: str or None. How a raw column is preprocessed inside
            the model, one of `mtl_zoo.feature_types.FEATURE_TYPES`:
            "numeric" (normalized floats), "categorical" or "id" (looked up
            in a vocabulary, then embedded; "id" for keys with many values),
            "text" (vectorized strings). None for a dense tensor input such
            as an image. Defaults to None.

    Example:

    >>> InputSpec((12, 20, 1), value_range=(0.0, 1.0)).card()
    {'shape': [12, 20, 1], 'dtype': 'float32', 'value_range': [0.0, 1.0], 'description': ''}
    """

    shape: tuple
    dtype: str = "float32"
    value_range: Optional[tuple] = None
    description: str = ""
    feature_type: Optional[str] = None

    def card(self) -> dict:
        """The input as plain JSON values: shape, dtype, value range, description."""
        card = {
            "shape": [int(size) if size is not None else None for size in self.shape],
            "dtype": self.dtype,
            "value_range": list(self.value_range) if self.value_range is not None else None,
            "description": self.description,
        }
        if self.feature_type is not None:
            card["feature_type"] = self.feature_type
        return card


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
        vocabulary: tuple or None. Class names, when the source's labels were
            strings mapped to indices (index = position in the tuple).
            Defaults to None.
    """

    kind: str
    classes: int = 1
    missing: str = "nan"
    vocabulary: Optional[tuple] = None


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
        read_class_names: callable or None. `read_class_names(data_dir=None)`
            returns label name -> class names (index order) as the data set
            itself declares them (e.g. TFDS `ClassLabel` names), for
            `class_names`. Defaults to None (the labels' `vocabulary`).
    """

    name: str
    description: str
    inputs: dict
    labels: dict
    splits: tuple
    load: Callable[..., "object"]
    how_to_get: str = ""
    read_class_names: Optional[Callable[..., dict]] = None

    def class_names(self, label: str, data_dir: Optional[str] = None) -> Optional[tuple]:
        """The class names of `label` in index order, or None when the data set does not name its classes.

        Read from the data set (`read_class_names`) when the source can,
        else the label's `vocabulary`. Recipes fill a task's omitted
        `class_names` from it.

        Args:
            label: str. One of `labels`.
            data_dir: str or None. The data folder the names are read from.
                Defaults to the source's default.

        Example:

        >>> from mtl_zoo.registry import DATASETS
        >>> DATASETS.get("movie_titles").class_names("decade")[:2], DATASETS.get("movie_titles").class_names("rating")
        (('1890s', '1900s'), None)
        """
        if label not in self.labels:
            raise ValueError(
                f"Data set '{self.name}' has no label '{label}'; available: {', '.join(sorted(self.labels))}. "
                f"Received: label={label!r}"
            )
        if self.read_class_names is not None:
            names = self.read_class_names(data_dir=data_dir).get(label)
            if names is not None:
                return tuple(names)
        return self.labels[label].vocabulary

    def load_split(self, split: str, data_dir: Optional[str] = None):
        """Loads `split`, validating its name first."""
        if split not in self.splits:
            raise ValueError(
                f"Data set '{self.name}' has no split '{split}'; available: "
                f"{', '.join(self.splits)}. Received: split={split!r}"
            )
        try:
            return self.load(split, data_dir=data_dir)
        except DataError:  # already one line that says what to do
            raise
        except Exception as error:  # any failure to build or read the data set
            first_line = (str(error).strip().splitlines() or [""])[0]
            if len(first_line) > 200:
                first_line = first_line[:200] + "..."
            raise DataError(
                f"Data set '{self.name}' (split '{split}') could not be loaded from "
                f"{data_dir or 'the default TFDS data folder'}: {type(error).__name__}: {first_line}"
                + (f". {self.how_to_get}" if self.how_to_get else "")
            ) from error


def load(
    name: str,
    split: str,
    batch_size: int = 64,
    data_dir: Optional[str] = None,
    shuffle_buffer: int = 0,
    seed: Optional[int] = None,
):
    """Loads a split of a registered data set as batches of `(features, labels)` for `fit`.

    Features and labels are dicts keyed by the data set's input and label
    names, so tasks named after the labels train on them as they are.

    Args:
        name: str. A registered data set, e.g. "multi_digits" (`mtl-zoo list`
            shows them all).
        split: str. One of the data set's splits, e.g. "train".
        batch_size: int. Examples per batch. Defaults to 64.
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default
            (`$TFDS_DATA_DIR`, else `~/tensorflow_datasets`); MultiDigits is
            built there on first use, offline.
        shuffle_buffer: int. Size of the shuffle buffer, reshuffled every
            epoch; 0 keeps the stored order. Defaults to 0.
        seed: int or None. Seed of the shuffle. Defaults to None.

    Returns:
        A batched, prefetched `tf.data.Dataset`.

    Example:

    >>> import mtl_zoo
    >>> train = mtl_zoo.data.load("multi_digits", "train", batch_size=32)  # doctest: +SKIP
    >>> features, labels = next(iter(train))  # doctest: +SKIP
    >>> features["image"].shape, sorted(labels)  # doctest: +SKIP
    (TensorShape([32, 12, 20, 1]), ['left_digit', 'right_digit'])
    """
    import tensorflow as tf

    from mtl_zoo.registry import DATASETS

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    dataset = DATASETS.get(name).load_split(split, data_dir=data_dir)
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
