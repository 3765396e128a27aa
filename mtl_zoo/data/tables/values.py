"""Table columns as model inputs and task labels: types checked, values converted.

A feature column becomes one scalar input per example, of the dtype its
type (`mtl_zoo.feature_types`) gives it in `FEATURE_DTYPES`: "numeric"
columns float32 (an empty cell is NaN, which the `features` trunk marks as
missing; a value beyond float32's range is refused); "categorical" and "id"
columns int64 when every value is an integer written plainly (`7`, not `007`
or `7.0`), else strings exactly as written (an empty cell is ""); "text"
columns strings. A label column becomes the labels of a task of its kind,
with empty cells as missing labels (-1 for class indices, NaN for floats, as
`mtl_zoo.tasks.labels` expects): the kind's column rule
(`TaskKind.column_labels`, `mtl_zoo.tasks.kinds.label_column`) says which
values it takes, and reads them through `ColumnCells`. Class labels written
as strings are mapped to indices through a vocabulary: the sorted values of
the training split (index = position).

How a file's cells become these values (which strings mean "missing" in
numeric columns, `MISSING_MARKERS`) is decided when the file is read, by
`mtl_zoo.data.tables.reading.read_table`.

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

import re
from typing import Optional

import numpy as np
import pandas as pd

from mtl_zoo.errors import DataError

# Cells of a numeric column (feature, or label read as numbers) that mean "missing", besides a blank cell;
# a recipe's `data.na_values` replaces them. Categorical, id and text columns keep every string as written.
MISSING_MARKERS = ("NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "?", ".", "-")
# An integer written plainly: no sign but "-", no leading zeros, no decimal point or spaces.
_PLAIN_INTEGER = re.compile(r"^(0|-?[1-9][0-9]{0,18})$")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT64 = np.iinfo(np.int64)


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


def is_string_column(series: pd.Series) -> bool:
    """Whether the column holds text (pandas `str` or `object` of strings), as a CSV column read as written."""
    return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)


def _plain_integers(series: pd.Series) -> bool:
    """Whether every cell is a string that spells an int64 plainly (`12`, `-3`; not `007`, `+3`, `3.0` or "")."""
    if len(series) == 0 or not is_string_column(series):
        return False
    values = series.tolist()
    return all(isinstance(value, str) and _PLAIN_INTEGER.match(value) and _INT64.min <= int(value) <= _INT64.max
               for value in values)


class ColumnCells:
    """One column of a file, read as numbers or class names; errors name the file, column and row.

    Task kinds read their label columns through it (see
    `TaskKind.column_labels`), so they need no pandas.

    Args:
        series: `pd.Series`. The column (its index counts data rows from 0).
        where: str. File and column, for messages.

    Example:

    >>> cells = ColumnCells(pd.Series(["b", None, "a"]), "a.csv: column 'grade'")
    >>> cells.class_indices(("a", "b")).tolist()
    [1, -1, 0]
    """

    def __init__(self, series: pd.Series, where: str):
        self.series = series
        self.where = where

    def numbers(self, expected: str) -> np.ndarray:
        """float64 values, NaN for empty cells; raises for the first cell that is no number (`expected` says why)."""
        return _numbers(self.series, self.where, expected).to_numpy()

    def class_indices(self, vocabulary: tuple, evaluation: bool = False) -> np.ndarray:
        """int64 position of each cell's name in `vocabulary`, -1 for an empty cell; raises for an unknown name.

        Args:
            vocabulary: tuple. The class names.
            evaluation: bool. The names are a trained model's, not the
                training split's; the message says so. Defaults to False.
        """
        series, where = self.series, self.where
        text = as_strings(series)
        index = {name: position for position, name in enumerate(vocabulary)}
        codes = np.array([index.get(name, -1) for name in text.tolist()], dtype="int64")
        unknown = (codes == -1) & (text != "")
        if unknown.any():
            value = _first(series, unknown)
            if evaluation:
                raise DataError(
                    f"{where}: {_row(series, unknown)} holds {value!r}, a class the model was not trained on "
                    f"(classes: {', '.join(vocabulary)}); score only rows of these classes, or leave the cell "
                    f"empty to skip the row for this task. Received: {value!r}"
                )
            raise DataError(
                f"{where}: {_row(series, unknown)} holds {value!r}, a class the training split does not have "
                f"(classes: {', '.join(vocabulary)}); every class must appear in the training split. "
                f"Received: {value!r}"
            )
        return codes

    def refuse(self, mask, problem: str) -> None:
        """Raises for the first cell where `mask` is True, saying `problem` (what the values must be)."""
        if mask.any():
            value = _first(self.series, mask)
            raise DataError(f"{self.where}: {_row(self.series, mask)} holds {value!r}; {problem}. "
                            f"Received: {value!r}")

    def check_float32(self, values: np.ndarray, fix: str) -> None:
        """Raises for the first finite value beyond float32's range (it would become infinity)."""
        with np.errstate(invalid="ignore"):
            overflow = np.isfinite(values) & (np.abs(values) > _FLOAT32_MAX)
        if overflow.any():
            value = _first(self.series, overflow)
            raise DataError(f"{self.where}: {_row(self.series, overflow)} holds {value!r}, beyond float32's range "
                            f"(+-{_FLOAT32_MAX:.4g}); {fix}. Received: {value!r}")


# === Features ===


def _float32_dtype(columns) -> str:
    return "float32"


def _key_dtype(columns) -> str:
    """int64 when every cell of every part is an integer (stored as one, or written plainly), else string."""
    integers = all((pd.api.types.is_integer_dtype(column) and not column.isna().any()) or _plain_integers(column)
                   for column in columns)
    return "int64" if integers else "string"


def _string_dtype(columns) -> str:
    return "string"


# Feature type (`mtl_zoo.feature_types.FEATURE_TYPES`) -> the input dtype of a column of that type,
# decided over the column's parts (one per split).
FEATURE_DTYPES = {"numeric": _float32_dtype, "categorical": _key_dtype, "id": _key_dtype, "text": _string_dtype}


def feature_dtype(feature_type: str, columns) -> str:
    """The input dtype of a feature column, decided over all its parts (one per split).

    Args:
        feature_type: str. One of `mtl_zoo.feature_types.FEATURE_TYPES`.
        columns: list of `pd.Series`. The column in every split.

    Returns:
        "float32" (numeric), "int64" (categorical or id columns whose every
        cell is an integer: stored as one, or written plainly) or "string"
        (see `FEATURE_DTYPES`).

    Example:

    >>> feature_dtype("categorical", [pd.Series([3, 1]), pd.Series(["2"])])
    'int64'
    >>> feature_dtype("id", [pd.Series([3, 1]), pd.Series([2, None])])
    'string'
    >>> feature_dtype("id", [pd.Series(["007", "12"])])
    'string'
    """
    return FEATURE_DTYPES[feature_type](columns)


def feature_values(dtype: str, series: pd.Series, where: str) -> np.ndarray:
    """Converts a feature column to the values its model input takes (its dtype decides how).

    Args:
        dtype: str. The input's dtype: "float32", "int64" or "string".
        series: `pd.Series`. The column.
        where: str. File and column, for messages.

    Returns:
        A float32 (NaN for empty cells), int64 or object (str, "" for empty
        cells) array with one value per row.

    Example:

    >>> feature_values("float32", pd.Series([1, 2.5]), "a.csv: column 'age'").tolist()
    [1.0, 2.5]
    """
    return _FEATURE_VALUES[dtype](ColumnCells(series, where))


def _float32_values(cells: ColumnCells) -> np.ndarray:
    values = cells.numbers("declare the column categorical or text in data.columns, or fix the value")
    cells.refuse(np.isinf(values), "numeric features must be finite")
    cells.check_float32(values, "numeric features are float32: rescale the column (e.g. divide it or take its "
                                "logarithm) or fix the value")
    return values.astype("float32")


def _int64_values(cells: ColumnCells) -> np.ndarray:
    series, where, fix = cells.series, cells.where, "the model takes integer values in this column"
    if is_string_column(series):
        return _integer_strings(series, where, fix)
    values = cells.numbers(fix)
    missing = np.isnan(values)
    if missing.any():
        raise DataError(
            f"{where}: {_row(series, missing)} is empty; the model takes an integer in every row of this "
            f"column: fill or drop the {int(missing.sum())} empty cells. Received: {_first(series, missing)!r}"
        )
    cells.refuse(values != np.round(values), fix)
    return values.astype("int64")


def _string_values(cells: ColumnCells) -> np.ndarray:
    return as_strings(cells.series)


# Input dtype -> how a column becomes values of it.
_FEATURE_VALUES = {"float32": _float32_values, "int64": _int64_values, "string": _string_values}


def _integer_strings(series: pd.Series, where: str, fix: str) -> np.ndarray:
    """int64 values of a column of integers written as strings; raises naming the first cell that is none."""
    values = series.tolist()
    parsed = np.zeros(len(values), dtype="int64")
    bad = np.zeros(len(values), dtype=bool)
    for position, value in enumerate(values):
        try:
            number = int(str(value).strip())
            if not _INT64.min <= number <= _INT64.max:
                raise ValueError(value)
            parsed[position] = number
        except ValueError:
            bad[position] = True
    if bad.any():
        value = _first(series, bad)
        problem = "is empty" if _is_missing(value) or value == "" else f"holds {value!r}, not an integer"
        raise DataError(f"{where}: {_row(series, bad)} {problem}; {fix}: fill or fix the {int(bad.sum())} cells. "
                        f"Received: {value!r}")
    return parsed


# === Labels ===


def _task_kind(kind: str):
    from mtl_zoo.registry import TASK_KINDS

    return TASK_KINDS.get(kind)


def label_vocabulary(kind: str, series: pd.Series) -> Optional[tuple]:
    """The class names of a label column written as strings, else None.

    Only kinds whose column takes names (`TaskKind.column_takes_names`:
    classification, binary) may have string labels; their names are the
    column's distinct values (empty cells left out), sorted.

    Args:
        kind: str. The task kind.
        series: `pd.Series`. The label column of the training split.

    Example:

    >>> label_vocabulary("binary", pd.Series(["yes", "no", None, "yes"]))
    ('no', 'yes')
    >>> label_vocabulary("binary", pd.Series([1.0, 0.0])) is None
    True
    """
    if not _task_kind(kind).column_takes_names or is_numeric(series):
        return None
    return tuple(sorted(set(as_strings(series).tolist()) - {""}))


def label_values(kind: str, classes: int, series: pd.Series, vocabulary: Optional[tuple], where: str,
                 evaluation: bool = False) -> np.ndarray:
    """Converts a label column to a task's labels (its kind's column rule); empty cells become missing labels.

    Args:
        kind: str. A task kind whose labels fit in one column (its
            `TaskKind.column`: "classification", "binary", "regression").
        classes: int. Number of classes (classification).
        series: `pd.Series`. The column.
        vocabulary: tuple or None. Class names (from `label_vocabulary` on the
            training split) when the labels are strings.
        where: str. File and column, for messages.
        evaluation: bool. The column is in a file a trained model is scored
            on (its class names fixed by the model), not in training data;
            messages say so. Defaults to False.

    Returns:
        int32 class indices (-1 missing) for classification, float32 values
        (NaN missing) for binary and regression.

    Example:

    >>> label_values("binary", 1, pd.Series([1, None, 0]), None, "a.csv: column 'clicked'").tolist()
    [1.0, nan, 0.0]
    """
    return _task_kind(kind).column_labels(ColumnCells(series, where), classes, vocabulary, evaluation)
