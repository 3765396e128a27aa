"""Reading a CSV or Parquet file as its author wrote it.

`read_table` reads every CSV cell as the text in the file (no value becomes
NaN or loses its leading zeros on the way), in the recipe's encoding;
`typed_columns` then makes numbers of the numeric columns, where a blank cell
or a missing-value marker (`mtl_zoo.data.tables.values.MISSING_MARKERS`, or
the recipe's `data.na_values`) is missing. Parquet files keep their types.

Example:

>>> import pandas as pd
>>> frame = pd.DataFrame({"age": ["31", "?"], "code": ["007", "NA"]}, dtype=str)
>>> typed_columns(frame, {"age": "numeric", "code": "categorical"}, [])["age"].tolist()
[31.0, nan]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtl_zoo.data.tables.values import MISSING_MARKERS, is_string_column
from mtl_zoo.errors import DataError

CSV_SEPARATORS = {".csv": ",", ".tsv": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")
DEFAULT_ENCODING = "utf-8"


def _format(path: Path) -> tuple:
    """`("csv", separator)` or `("parquet", None)` from the file's name; raises for any other name."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in CSV_SEPARATORS:
        return "csv", CSV_SEPARATORS[last]
    if last in PARQUET_SUFFIXES:
        return "parquet", None
    raise DataError(
        f"{path}: unknown file type; name CSV files *.csv or *.tsv (optionally .gz, .bz2, .zip, .xz, .zst) "
        f"and Parquet files *.parquet or *.pq. Received: {path.name!r}"
    )


def read_table(path, encoding: str = DEFAULT_ENCODING):
    """Reads a CSV or Parquet file into a `pd.DataFrame`; raises `DataError` if it cannot.

    Every CSV cell is read as the string written in the file (a blank cell
    is ""); `typed_columns` then makes numbers of the numeric columns.

    Args:
        path: str or Path. The file; its name says its format.
        encoding: str. The text encoding of a CSV file. Defaults to "utf-8".

    Example:

    >>> read_table("no/such/file.csv")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    mtl_zoo.errors.DataError: no/such/file.csv: no such file ...
    """
    import pandas as pd

    path = Path(path)
    file_format, separator = _format(path)
    if not path.is_file():
        raise DataError(
            f"{path}: no such file; check the path in the recipe (relative paths start at the recipe's "
            f"folder). Received: {str(path)!r}"
        )
    try:
        if file_format == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, na_filter=False,
                           encoding=encoding)
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: cannot be read as {encoding} text: byte {error.object[error.start:error.start + 1]!r} at "
            f"position {error.start} is not {encoding}; set data.encoding to the file's encoding (e.g. latin-1, "
            f"cp1252, utf-16). Received: encoding={encoding!r}"
        ) from None
    except Exception as error:  # any failure of the reader: permissions, corrupt file
        detail = (str(error).strip().splitlines() or [""])[0][:200]
        raise DataError(f"{path}: cannot be read as {file_format.upper()}: {type(error).__name__}: {detail}") from None


def _as_missing(series, markers: frozenset):
    """The column as objects with NaN for a blank cell or a missing-value marker."""
    import pandas as pd

    values = series.to_numpy(dtype=object, na_value=np.nan)
    missing = np.array([isinstance(value, str) and (value.strip() == "" or value in markers) for value in values],
                       dtype=bool)
    values[missing] = np.nan
    return pd.Series(values, index=series.index, dtype=object)


def typed_columns(frame, columns: dict, labels: list, na_values=None):
    """The table with numeric columns made numbers; text columns stay as written.

    Numeric feature columns and the label columns of tasks whose labels are
    numbers get NaN for a blank cell or a missing-value marker (other cells
    are checked later, naming the first that is no number). A
    classification or binary label column written as text becomes numbers
    the same way when every other cell is a number, else stays as written.
    Columns that are not text (Parquet) are kept.

    Args:
        frame: `pd.DataFrame`. As `read_table` returned it.
        columns: dict. Feature column -> feature type.
        labels: list of `LabelColumn`.
        na_values: list of str or None. The missing-value markers of numeric
            columns (besides a blank cell). Defaults to
            `mtl_zoo.data.tables.values.MISSING_MARKERS`.

    Example:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": ["31", "NA", ""], "city": ["NA", "None", "007"]}, dtype=str)
    >>> typed = typed_columns(frame, {"age": "numeric", "city": "categorical"}, [])
    >>> typed["age"].tolist(), typed["city"].tolist()
    ([31.0, nan, nan], ['NA', 'None', '007'])
    """
    import pandas as pd

    from mtl_zoo.registry import TASK_KINDS

    markers = frozenset(MISSING_MARKERS if na_values is None else na_values)

    def numbers(series):
        """Floats if every cell left is a number, else objects (so the first non-number is reported)."""
        values = _as_missing(series, markers)
        parsed = pd.to_numeric(values, errors="coerce")
        return parsed if (parsed.isna() == values.isna()).all() else values

    changed = {}
    for name, feature_type in columns.items():
        if feature_type == "numeric" and name in frame.columns and is_string_column(frame[name]):
            changed[name] = numbers(frame[name])
    for label in labels:
        if label.column not in frame.columns or label.column in changed or not is_string_column(frame[label.column]):
            continue
        values = numbers(frame[label.column])
        takes_names = label.kind in TASK_KINDS and TASK_KINDS.get(label.kind).column_takes_names
        if takes_names and (values.dtype == object or values.isna().all()):
            continue  # class names, kept as written
        changed[label.column] = values
    return frame.assign(**changed) if changed else frame
