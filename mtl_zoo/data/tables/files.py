"""Data sets read from CSV and Parquet files, as a recipe's `data:` section describes them.

Instead of `name:` (a registered data set), a recipe's `data:` can name files
in one of three layouts:

- one file with a split column: `file: penguins.csv` and `split_column: split`
  (each row's value names its split);
- one file per split: `files: {train: a.csv, validation: b.csv, test: c.parquet}`;
  or `files: {train: a.csv, test: c.csv}` with `validation_fraction: 0.2`,
  which takes the validation rows from the train file at random (`split_seed`);
- one file split at random: `file: penguins.csv`, `validation_fraction: 0.2`,
  `test_fraction: 0.2` and `split_seed: 0` (the same seed gives the same rows).

`columns` names the feature columns and their types (`numeric`,
`categorical`, `id`, `text`; see `mtl_zoo.feature_types` and
`mtl_zoo.data.tables.values`), and each task reads
its labels from the column its `label` names (defaults to the task name).
Files ending in `.csv` or `.tsv` (optionally compressed) are read with
`pandas.read_csv` (in `data.encoding`, UTF-8 unless the recipe says
otherwise), `.parquet` or `.pq` with `pandas.read_parquet`.

A CSV cell is read exactly as written, so training, `mtl-zoo evaluate
--data` and a served model see the same value: categorical, id and text
columns keep every string (`NA`, `None`, `null`, `NaN`, `007` and a blank
cell, "", are values like any other). In numeric columns (numeric features,
regression labels) a blank cell and the markers of
`mtl_zoo.data.tables.values.MISSING_MARKERS` (`NA`, `N/A`, `NaN`, `null`, `None`,
`?`, `.`, `-`, ...) are missing values; `data.na_values` replaces the
markers. A classification or binary label column is read as numbers (with
those markers missing) when every other cell is a number, else as class names
exactly as written (a blank cell is a missing label). Parquet columns keep
their types; their nulls are missing.

Column names may be spelled any way (`class`, `my col`, `größe`, `2nd`), except
with "/"; the SavedModel's signatures take inputs under names that are valid
there (see `mtl_zoo.artifacts.saved_model.serving_input_names`).

Every file is read and every column checked when the source is made, so a
wrong column name, a value that does not fit a column's type or a task's kind,
an empty split or an unreadable file is a one-line `DataError` naming the file
and the column before any model is built. `recipe_data_source(recipe)` is the
one place the library gets a recipe's `DataSource`, registered or read from
files (files are read once per recipe and kept while they are unchanged).

Example:

>>> import tempfile, pandas as pd
>>> from pathlib import Path
>>> from mtl_zoo.recipes.schema import DataConfig
>>> folder = Path(tempfile.mkdtemp())
>>> pd.DataFrame({"age": [31, 45, 27, 52], "city": ["Oslo", "Rome", "Oslo", "Lima"],
...               "bought": ["no", "yes", None, "yes"],
...               "split": ["train", "train", "train", "test"]}).to_csv(folder / "shop.csv", index=False)
>>> config = DataConfig(file=str(folder / "shop.csv"), split_column="split", validation_split=None,
...                     columns={"age": "numeric", "city": "categorical"})
>>> source = file_data_source(config, [LabelColumn("bought", "binary", 1, "bought", "tasks[0].name")])
>>> source.splits, source.inputs["city"].dtype, source.labels["bought"].vocabulary
(('test', 'train'), 'string', ('no', 'yes'))
>>> features, labels = next(iter(source.load("train").batch(3)))
>>> labels["bought"].numpy().tolist()
[0.0, 1.0, nan]
"""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path
from typing import Optional

import numpy as np

from mtl_zoo.data.tables.values import feature_dtype, feature_values, label_values, label_vocabulary
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.data.tables.reading import DEFAULT_ENCODING, read_table, typed_columns
from mtl_zoo.data.tables.splits import Table, split_tables
from mtl_zoo.errors import DataError, listed
from mtl_zoo.feature_types import FEATURE_TYPES

# Keras refuses "/" in a layer name, so in an input's name.
_FORBIDDEN_IN_NAMES = "/"
# The one split of a file given to `evaluation_data_source`.
EVALUATION_SPLIT = "data"
# Where the class names of an evaluated file's labels come from, for messages.
MODEL_CLASS_NAMES = "the model's class names"
_CACHE_SIZE = 4
_SOURCES: collections.OrderedDict = collections.OrderedDict()


@dataclasses.dataclass(frozen=True)
class LabelColumn:
    """Where a task's labels are in a table.

    Args:
        task: str. The task's name.
        kind: str. The task's kind ("classification", "binary", "regression").
        classes: int. The task's number of classes (output units otherwise).
        column: str. The column that holds its labels.
        field: str. The recipe field that names the column, for messages
            (e.g. "tasks[0].label").
    """

    task: str
    kind: str
    classes: int
    column: str
    field: str


def label_columns(tasks) -> list:
    """One `LabelColumn` per recipe task (objects with name, kind, classes, label, label_name)."""
    return [
        LabelColumn(task.name, task.kind, task.classes, task.label_name,
                    f"tasks[{index}].{'label' if task.label else 'name'}")
        for index, task in enumerate(tasks)
    ]


def _where(table: Table, column: str, field: str) -> str:
    return f"{table.path}: column {column!r} ({field})"


def _check_columns(tables: dict, columns: dict, labels: list) -> None:
    """Raises for a bad column name: not an input name, used twice, or missing from a file."""
    for name, feature_type in columns.items():
        if not name.strip() or any(character in name for character in _FORBIDDEN_IN_NAMES):
            raise DataError(
                f"column {name!r} (data.columns.{name}) cannot name a model input: Keras takes no "
                f"{' or '.join(map(repr, _FORBIDDEN_IN_NAMES))} and no blank name; rename the column. "
                f"Received: {name!r}"
            )
        if feature_type not in FEATURE_TYPES:
            raise DataError(f"column {name!r} (data.columns.{name}): unknown feature type; allowed: "
                            f"{', '.join(FEATURE_TYPES)}. Received: {feature_type!r}")
    for label in labels:
        if label.column in columns:
            raise DataError(
                f"column {label.column!r} is a feature (data.columns.{label.column}) and the labels of task "
                f"{label.task!r} ({label.field}); a model must not read its own labels: remove it from "
                f"data.columns. Received: {label.column!r}"
            )
    for table in dict.fromkeys(tables.values()):
        available = set(table.frame.columns)
        missing = [name for name in columns if name not in available]
        if missing:
            fields = ", ".join(f"data.columns.{name}" for name in missing)
            raise DataError(
                f"{table.path}: no column {', '.join(map(repr, missing))} ({fields}); its columns: "
                f"{listed(table.frame.columns)}. Received: {missing[0]!r}"
            )
        for label in labels:
            if label.column not in available:
                raise DataError(
                    f"{table.path}: no column {label.column!r} for the labels of task {label.task!r} "
                    f"({label.field}); its columns: {listed(table.frame.columns)}. Set the task's label "
                    f"to the column that holds them. Received: {label.column!r}"
                )


def _label_spec(label: LabelColumn, vocabulary: Optional[tuple], table: Table, origin: str) -> LabelSpec:
    """The `LabelSpec` of a task's column; its kind raises if the column (names found in `origin`) does not fit."""
    from mtl_zoo.registry import TASK_KINDS

    kind = TASK_KINDS.get(label.kind)
    classes = kind.check_label_column(label.classes, vocabulary, _where(table, label.column, label.field), origin,
                                      evaluation=origin == MODEL_CLASS_NAMES)
    return LabelSpec(label.kind, classes, kind.missing_value, vocabulary)


def table_source(name: str, description: str, tables: dict, columns: dict, labels: list,
                 train_split: Optional[str] = None, input_dtypes: Optional[dict] = None,
                 vocabularies: Optional[dict] = None) -> DataSource:
    """A `DataSource` over tables already read: columns checked and converted, splits in memory.

    Args:
        name: str. The source's name, for messages.
        description: str. One line saying where the data comes from.
        tables: dict. Split name -> `Table`.
        columns: dict. Feature column -> feature type (see
            `mtl_zoo.feature_types.FEATURE_TYPES`).
        labels: list of `LabelColumn`. The tasks' label columns.
        train_split: str or None. The split whose values name the classes
            of string labels. Required unless `vocabularies` is given.
        input_dtypes: dict or None. Feature column -> dtype the model takes
            ("float32", "int64", "string"). Defaults to deciding from the
            values (see `mtl_zoo.data.tables.values.feature_dtype`).
        vocabularies: dict or None. Label column -> class names (or None for
            numeric labels), as a trained model knows them. Defaults to
            reading them from the training split.

    Returns:
        A `DataSource` whose `load(split)` yields unbatched `(features,
        labels)`, both keyed by column name.
    """
    for split, table in tables.items():
        if len(table.frame) == 0:
            raise DataError(f"{table.path}: the {split} split has no rows ({table.origin}); give every split "
                            f"at least one row. Received: 0 rows")
    _check_columns(tables, columns, labels)
    any_table = next(iter(tables.values()))
    if input_dtypes is None:
        input_dtypes = {name: feature_dtype(kind, [table.frame[name] for table in tables.values()])
                        for name, kind in columns.items()}
    label_specs = {}
    for label in labels:
        if vocabularies is not None:
            vocabulary, table, origin = vocabularies.get(label.column), any_table, MODEL_CLASS_NAMES
        else:
            table = tables[train_split]
            vocabulary = label_vocabulary(label.kind, table.frame[label.column])
            origin = f"the {train_split} split ({table.origin})"
        spec = _label_spec(label, vocabulary, table, origin)
        previous = label_specs.setdefault(label.column, spec)
        if previous != spec:
            raise DataError(f"column {label.column!r} ({label.field}) holds the labels of two tasks of different "
                            f"kinds or classes; give each task its own column. Received: {spec.kind!r}")
    arrays = {}
    for split in sorted(tables, key=lambda name: name != train_split):  # problems in the training rows first
        table = tables[split]
        features = {name: feature_values(input_dtypes[name], table.frame[name],
                                         _where(table, name, f"data.columns.{name}"))
                    for name in columns}
        label_arrays = {}
        for label in labels:
            spec = label_specs[label.column]
            label_arrays[label.column] = label_values(label.kind, spec.classes, table.frame[label.column],
                                                      spec.vocabulary, _where(table, label.column, label.field),
                                                      evaluation=vocabularies is not None)
        arrays[split] = (features, label_arrays)
    inputs = {name: InputSpec((), input_dtypes[name], description=f"column {name!r} ({kind})", feature_type=kind)
              for name, kind in columns.items()}

    def load(split, data_dir=None):
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices(arrays[split])

    return DataSource(name=name, description=description, inputs=inputs, labels=label_specs,
                      splits=tuple(tables), load=load)


def file_data_source(config, labels: list) -> DataSource:
    """Reads and checks the files a recipe's `data:` section names.

    Args:
        config: `DataConfig`. A validated `data:` section naming files.
        labels: list of `LabelColumn`. The tasks' label columns (see
            `label_columns`).

    Returns:
        A `DataSource` whose splits are the files' splits.
    """
    tables = split_tables(config, labels)
    paths = list(dict.fromkeys(str(table.path) for table in tables.values()))
    layout = ("split column " + repr(config.split_column) if config.split_column
              else "random split" if config.files is None
              else "one file per split" if config.validation_fraction is None
              else "one file per split, validation rows drawn from the train file")
    return table_source(
        name=Path(paths[0]).name if len(paths) == 1 else Path(config.files[config.train_split]).name,
        description=f"{', '.join(paths)} ({layout})",
        tables=tables, columns=dict(config.columns), labels=labels, train_split=config.train_split,
    )


def evaluation_data_source(path, columns: dict, labels: list, input_dtypes: dict, vocabularies: dict,
                           na_values=None, encoding: Optional[str] = None) -> tuple:
    """A one-split `DataSource` over a new file, typed and labelled as a trained model expects.

    Tasks whose label column the file lacks get only missing labels, so the
    model can still be evaluated on the others.

    Args:
        path: str or Path. A CSV or Parquet file with the model's feature
            columns and any of its label columns.
        columns: dict. Feature column -> feature type (the recipe's
            `data.columns`).
        labels: list of `LabelColumn`. The tasks' label columns.
        input_dtypes: dict. Feature column -> dtype of the model's input.
        vocabularies: dict. Label column -> class names, or None for
            numeric labels.
        na_values: list of str or None. Missing-value markers of numeric
            columns, as the model's recipe read its files (`data.na_values`).
            Defaults to `mtl_zoo.data.tables.values.MISSING_MARKERS`.
        encoding: str or None. The CSV file's text encoding (the recipe's
            `data.encoding`). Defaults to "utf-8".

    Returns:
        `(source, skipped)`: the source, whose only split is
        `EVALUATION_SPLIT`, and the `LabelColumn`s absent from the file.
    """
    path = Path(path)
    frame = typed_columns(read_table(path, encoding or DEFAULT_ENCODING), dict(columns), labels, na_values)
    skipped = [label for label in labels if label.column not in frame.columns]
    frame = frame.assign(**{label.column: np.nan for label in skipped})
    source = table_source(
        name=path.name, description=f"{path} (evaluation)", tables={EVALUATION_SPLIT: Table(frame, path, "file")},
        columns=dict(columns), labels=labels, input_dtypes=input_dtypes, vocabularies=vocabularies,
    )
    return source, skipped


def _file_stamps(config) -> tuple:
    paths = [config.file] if config.file is not None else sorted(set(config.files.values()))
    stamps = []
    for path in paths:
        try:
            status = os.stat(path)
            stamps.append((path, status.st_mtime_ns, status.st_size))
        except OSError:
            stamps.append((path, None, None))
    return tuple(stamps)


def recipe_data_source(recipe) -> DataSource:
    """The `DataSource` a recipe trains on: its registered data set, or the files it names.

    Files are read and checked on the first call; later calls for the same
    `data:` section and tasks return the same source while the files are
    unchanged.

    Args:
        recipe: `Recipe`. A validated recipe.

    Returns:
        A `DataSource`.

    Example:

    >>> from mtl_zoo.recipes.loading import load_recipe
    >>> recipe_data_source(load_recipe("recipes/multidigits_hard.yaml")).name
    'multi_digits'
    """
    data = recipe.data
    if data.name is not None:
        from mtl_zoo.registry import DATASETS

        return DATASETS.get(data.name)
    labels = label_columns(recipe.tasks)
    key = (
        data.file, tuple(sorted((data.files or {}).items())), data.split_column, data.validation_fraction,
        data.test_fraction, data.split_seed, tuple(data.columns.items()), data.encoding,
        None if data.na_values is None else tuple(data.na_values), data.train_split,
        data.validation_split, data.test_split, tuple(labels), _file_stamps(data),
    )
    if key in _SOURCES:
        _SOURCES.move_to_end(key)
        return _SOURCES[key]
    source = file_data_source(data, labels)
    _SOURCES[key] = source
    while len(_SOURCES) > _CACHE_SIZE:
        _SOURCES.popitem(last=False)
    return source
