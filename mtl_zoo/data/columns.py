"""Table columns as model inputs and task labels: types checked, values converted.

A feature column becomes one scalar input per example: "numeric" columns
float32 (an empty cell is NaN, which the `features` trunk marks as missing);
"categorical" and "id" columns int64 when every value is an integer, else
strings (an empty cell is ""); "text" columns strings. A label column becomes the labels of a
task of its kind, with empty cells as missing labels (-1 for class indices,
NaN for floats, as `mtl_zoo.masking` expects). Class labels written as
strings are mapped to indices through a vocabulary: the sorted values of the
training split (index = position).

Every function names what is wrong in one line that starts with `where`
(e.g. "data/penguins.csv: column 'sex' (tasks[1].label)"), gives the first
offending value and its data row (1 = first row after the header), and says
how to fix it.

Example:

>>> import pandas as pd
>>> column = pd.Series(["Gentoo", None, "Adelie"])
>>> vocabulary = label_vocabulary("classification", column)
>>> vocabulary, label_values("classification", 2, column, vocabulary, "penguins.csv: column 'species'").tolist()
(('Adelie', 'Gentoo'), [1, -1, 0])
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from mtl_zoo.errors import DataError

FEATURE_TYPES = ("numeric", "categorical", "id", "text")


def _row(series: pd.Series, mask) -> str:
    """`data row N` of the first True entry of `mask` (the frame's index counts rows from 0)."""
    position = int(np.flatnonzero(np.asarray(mask))[0])
    label = series.index[position]
    number = int(label) + 1 if isinstance(label, (int, np.integer)) else position + 1
    return f"data row {number}"


def _first(series: pd.Series, mask):
    value = series.iloc[int(np.flatnonzero(np.asarray(mask))[0])]
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def is_numeric(series: pd.Series) -> bool:
    """Whether the column holds numbers or booleans (empty cells allowed)."""
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def as_strings(series: pd.Series) -> np.ndarray:
    """The column as an object array of `str`; empty cells become "".

    Whole numbers stored as floats (a column of integers with empty cells)
    are written without a decimal point, so `3.0` reads "3".

    Example:

    >>> as_strings(pd.Series([3.0, None, 2.5])).tolist()
    ['3', '', '2.5']
    """
    if pd.api.types.is_float_dtype(series):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        text = ["" if np.isnan(value) else (str(int(value)) if value.is_integer() else repr(float(value)))
                for value in numbers]
    else:
        text = ["" if _is_missing(value) else str(value) for value in series.tolist()]
    return np.array(text, dtype=object)


def _numbers(series: pd.Series, where: str, expected: str) -> pd.Series:
    """The column as float64 (NaN for empty cells); raises naming the first value that is no number."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=series.index)
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna().to_numpy() & ~series.isna().to_numpy()
    if bad.any():
        raise DataError(
            f"{where}: {_row(series, bad)} holds {_first(series, bad)!r}, not a number; {expected}. "
            f"Received: {_first(series, bad)!r}"
        )
    return numbers.astype("float64")


def feature_dtype(feature_type: str, columns) -> str:
    """The input dtype of a feature column, decided over all its parts (one per split).

    Args:
        feature_type: str. One of `FEATURE_TYPES`.
        columns: list of `pd.Series`. The column in every split.

    Returns:
        "float32" (numeric), "int64" (categorical or id columns whose every
        cell is an integer) or "string".

    Example:

    >>> feature_dtype("categorical", [pd.Series([3, 1]), pd.Series([2])])
    'int64'
    >>> feature_dtype("id", [pd.Series([3, 1]), pd.Series([2, None])])
    'string'
    """
    if feature_type == "numeric":
        return "float32"
    if feature_type in ("categorical", "id") and all(
        pd.api.types.is_integer_dtype(column) and not column.isna().any() for column in columns
    ):
        return "int64"
    return "string"


def feature_values(feature_type: str, dtype: str, series: pd.Series, where: str) -> np.ndarray:
    """Converts a feature column to the values its model input takes.

    Args:
        feature_type: str. One of `FEATURE_TYPES`.
        dtype: str. The input's dtype: "float32", "int64" or "string".
        series: `pd.Series`. The column.
        where: str. File and column, for messages.

    Returns:
        A float32 (NaN for empty cells), int64 or object (str, "" for empty
        cells) array with one value per row.

    Example:

    >>> feature_values("numeric", "float32", pd.Series([1, 2.5]), "a.csv: column 'age'").tolist()
    [1.0, 2.5]
    """
    if dtype == "string":
        return as_strings(series)
    fix = {
        "float32": "declare the column categorical or text in data.columns, or fix the value",
        "int64": "the model takes integer values in this column",
    }[dtype]
    numbers = _numbers(series, where, fix)
    values = numbers.to_numpy()
    if dtype == "int64":
        missing = np.isnan(values)
        if missing.any():
            raise DataError(
                f"{where}: {_row(series, missing)} is empty; the model takes an integer in every row of this "
                f"column: fill or drop the {int(missing.sum())} empty cells. Received: {_first(series, missing)!r}"
            )
        fractional = values != np.round(values)
        if fractional.any():
            raise DataError(f"{where}: {_row(series, fractional)} holds {_first(series, fractional)!r}; {fix}. "
                            f"Received: {_first(series, fractional)!r}")
        return values.astype("int64")
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(f"{where}: {_row(series, infinite)} holds {_first(series, infinite)!r}; numeric features "
                        f"must be finite. Received: {_first(series, infinite)!r}")
    return values.astype("float32")


def label_vocabulary(kind: str, series: pd.Series) -> Optional[tuple]:
    """The class names of a label column written as strings, else None.

    Only classification and binary labels may be strings; their names are
    the column's distinct values (empty cells left out), sorted.

    Args:
        kind: str. The task kind.
        series: `pd.Series`. The label column of the training split.

    Example:

    >>> label_vocabulary("binary", pd.Series(["yes", "no", None, "yes"]))
    ('no', 'yes')
    >>> label_vocabulary("binary", pd.Series([1.0, 0.0])) is None
    True
    """
    if _column_type(kind) not in ("class_index", "binary") or is_numeric(series):
        return None
    return tuple(sorted(set(as_strings(series).tolist()) - {""}))


def label_values(kind: str, classes: int, series: pd.Series, vocabulary: Optional[tuple], where: str) -> np.ndarray:
    """Converts a label column to a task's labels; empty cells become missing labels.

    Args:
        kind: str. A task kind whose labels fit in one column (its
            `TaskKind.column`: "classification", "binary", "regression").
        classes: int. Number of classes (classification).
        series: `pd.Series`. The column.
        vocabulary: tuple or None. Class names (from `label_vocabulary` on the
            training split) when the labels are strings.
        where: str. File and column, for messages.

    Returns:
        int32 class indices (-1 missing) for classification, float32 values
        (NaN missing) for binary and regression.

    Example:

    >>> label_values("binary", 1, pd.Series([1, None, 0]), None, "a.csv: column 'clicked'").tolist()
    [1.0, nan, 0.0]
    """
    column = _column_type(kind)
    if column is None:
        raise DataError(
            f"{where}: a {kind} task cannot read its labels from one column of a file; use one binary task "
            f"per label. Received: kind={kind!r}"
        )
    if vocabulary is not None:
        return _vocabulary_indices(column, series, vocabulary, where)
    expected = {
        "class_index": f"{kind} labels are class indices 0..{classes - 1} or class names "
                       "written as strings in every split",
        "binary": f"{kind} labels are 0 or 1 (or two names written as strings in every split)",
        "number": f"{kind} labels are numbers",
    }[column]
    numbers = _numbers(series, where, expected)
    values = numbers.to_numpy()
    present = ~np.isnan(values)
    if column == "class_index":
        bad = present & ((values != np.round(values)) | (values < 0) | (values >= classes))
        message = f"class indices must be whole numbers from 0 to {classes - 1} (the task has classes: {classes})"
    elif column == "binary":
        bad = present & ((values < 0) | (values > 1))
        message = f"{kind} labels are 0 or 1 (probabilities in [0, 1] also fit)"
    else:
        bad = present & ~np.isfinite(values)
        message = f"{kind} labels must be finite numbers"
    if bad.any():
        value = _first(series, bad)
        raise DataError(f"{where}: {_row(series, bad)} holds {value!r}; {message}. Received: {value!r}")
    if column == "class_index":
        return np.where(present, values, -1).astype("int32")
    return values.astype("float32")


def _column_type(kind: str) -> Optional[str]:
    """What one label column of task kind `kind` becomes (`TaskKind.column`), or None."""
    from mtl_zoo.registry import TASK_KINDS

    return TASK_KINDS.get(kind).column


def _vocabulary_indices(column: str, series: pd.Series, vocabulary: tuple, where: str) -> np.ndarray:
    text = as_strings(series)
    index = {name: position for position, name in enumerate(vocabulary)}
    codes = np.array([index.get(name, -1) for name in text.tolist()], dtype="int64")
    unknown = (codes == -1) & (text != "")
    if unknown.any():
        value = _first(series, unknown)
        raise DataError(
            f"{where}: {_row(series, unknown)} holds {value!r}, a class the training split does not have "
            f"(classes: {', '.join(vocabulary)}); every class must appear in the training split. "
            f"Received: {value!r}"
        )
    if column == "class_index":
        return codes.astype("int32")
    return np.where(codes >= 0, codes, np.nan).astype("float32")
