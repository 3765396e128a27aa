"""The splits of a recipe's files: one file per split, a split column, or rows drawn at random.

`split_tables(config, labels)` reads the files of a `data:` section
(`mtl_zoo.data.tables.reading`) and returns split name -> `Table`, each
table saying where its rows come from, for messages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from mtl_zoo.data.tables.reading import DEFAULT_ENCODING, read_table, typed_columns
from mtl_zoo.errors import DataError, listed


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """The rows of one split.

    Args:
        frame: `pd.DataFrame`. The rows (index: row number in the file, from 0).
        path: Path. The file they come from.
        origin: str. How the rows were chosen, for messages.
    """

    frame: object
    path: Path
    origin: str


def split_tables(config, labels: list = ()) -> dict:
    """Reads the files of a `data:` section and returns split name -> `Table`.

    Args:
        config: `DataConfig`. One of the three layouts (see the module
            docstring), already validated.
        labels: list of `LabelColumn`. The tasks' label columns, read as
            numbers or as written (see `typed_columns`). Defaults to none.

    Returns:
        A dict with every split the files hold (a split column may name more
        than the recipe uses).
    """
    encoding = getattr(config, "encoding", None) or DEFAULT_ENCODING
    na_values = getattr(config, "na_values", None)

    def read(path):
        return typed_columns(read_table(path, encoding), dict(config.columns or {}), list(labels), na_values)

    if config.files is not None:
        frames = {}
        for path in dict.fromkeys(config.files.values()):
            frames[path] = read(path)
        tables = {split: Table(frames[path], Path(path), f"data.files.{split}") for split, path in config.files.items()}
        if config.validation_fraction is not None:
            tables.update(_validation_from_train(tables[config.train_split], config))
        return tables
    path = Path(config.file)
    frame = read(path)
    if config.split_column is not None:
        return _split_by_column(frame, path, config)
    return _split_at_random(frame, path, config)


def _split_by_column(frame, path: Path, config) -> dict:
    column = config.split_column
    if column not in frame.columns:
        raise DataError(
            f"{path}: no column {column!r} (data.split_column); its columns: {listed(frame.columns)}. "
            f"Received: split_column={column!r}"
        )
    values = frame[column]
    empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        row = int(frame.index[int(np.flatnonzero(empty)[0])]) + 1
        raise DataError(
            f"{path}: column {column!r} (data.split_column) is empty in data row {row}; every row needs "
            f"the name of its split. Received: {int(empty.sum())} empty cells"
        )
    names = as_split_names(values)
    rows = frame.drop(columns=[column])
    tables = {name: Table(rows[(names == name).to_numpy()], path, f"rows whose {column!r} is {name!r}")
              for name in sorted(names.unique())}
    for field in ("train_split", "validation_split", "test_split"):
        split = getattr(config, field)
        if split is not None and split not in tables:
            raise DataError(
                f"{path}: column {column!r} (data.split_column) names no rows of split {split!r} "
                f"(data.{field}); its splits: {listed(tables)}. Received: {field}={split!r}"
            )
    return tables


def as_split_names(values):
    """The split column as strings (whole numbers without a decimal point, as `as_strings` writes them)."""
    from mtl_zoo.data.tables.values import as_strings
    import pandas as pd

    return pd.Series(as_strings(values), index=values.index)


def draw_rows(num_rows: int, fraction: float, seed: int) -> tuple:
    """`(drawn, rest)`: `round(num_rows * fraction)` row numbers drawn at random with `seed`, and the others.

    The one way rows are held out of a training split: `validation_fraction`
    of a train file, and `training.early_stopping.validation_fraction`
    (`mtl_zoo.data.held_out`). Both arrays are sorted.

    Example:

    >>> drawn, rest = draw_rows(10, 0.2, seed=0)
    >>> len(drawn), len(rest), sorted([*drawn, *rest]) == list(range(10))
    (2, 8, True)
    """
    order = np.random.default_rng(seed).permutation(num_rows)
    num_drawn = int(round(num_rows * fraction))
    return np.sort(order[:num_drawn]), np.sort(order[num_drawn:])


def _validation_from_train(train: Table, config) -> dict:
    """Moves `validation_fraction` of the train file's rows, drawn with `split_seed`, into a validation split."""
    num_rows = len(train.frame)
    validation_rows, train_rows = draw_rows(num_rows, config.validation_fraction, config.split_seed)
    return {
        config.train_split: Table(train.frame.iloc[train_rows], train.path,
                                  f"{train.origin} less data.validation_fraction={config.validation_fraction}"),
        config.validation_split: Table(train.frame.iloc[validation_rows], train.path,
                                       f"data.validation_fraction={config.validation_fraction} of the "
                                       f"{num_rows} rows of {train.origin}"),
    }


def _split_at_random(frame, path: Path, config) -> dict:
    """Shuffles the row numbers with `split_seed`; test rows first, then validation, the rest train."""
    num_rows = len(frame)
    order = np.random.default_rng(config.split_seed).permutation(num_rows)
    num_test = int(round(num_rows * config.test_fraction))
    num_validation = int(round(num_rows * (config.validation_fraction or 0.0)))
    parts = {config.test_split: ("test_fraction", order[:num_test]),
             config.train_split: (None, order[num_test + num_validation:])}
    if config.validation_split is not None:
        parts[config.validation_split] = ("validation_fraction", order[num_test:num_test + num_validation])
    tables = {}
    for split, (field, rows) in parts.items():
        origin = (f"data.{field}={getattr(config, field)} of {num_rows} rows" if field
                  else f"{num_rows} rows less the test and validation rows")
        tables[split] = Table(frame.iloc[np.sort(rows)], path, origin)
    return tables
