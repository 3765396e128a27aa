"""Predictions for rows without labels: what `mtl-zoo predict ARTIFACT --data FILE` writes.

The file needs the feature columns the model was trained on (the recipe's
`data.columns`, typed as the model's inputs: `mtl_zoo.data.tables.files`); label
columns and any other columns are ignored. Each task's output becomes
columns named after the task, in the file's row order:

- classification: `{task}`, the predicted class's name (the label's
  vocabulary, or the task's `class_names`, else its index), then
  `{task}_probability_{class}` per class;
- binary: `{task}`, the predicted class (probability at least 0.5), and
  `{task}_probability_{positive class}` (`{task}_probability` when the labels
  were 0 and 1): the probability of the positive class (vocabulary[1]);
- regression: `{task}` (`{task}_{i}` per unit with several units);
- any other output: `{task}_{i}` per value.

Example:

>>> import numpy as np
>>> card = {"kind": "binary", "activation": "sigmoid", "shape": [1], "vocabulary": ["no", "yes"]}
>>> columns = prediction_columns("bought", card, np.array([[0.2], [0.9]], "float32"))
>>> {name: values.tolist() for name, values in columns.items()}
{'bought': ['no', 'yes'], 'bought_probability_yes': [0.20000000298023224, 0.8999999761581421]}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PREVIEW_ROWS = 10
OUTPUT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}
PREDICT_BATCH_SIZE = 1024


class PredictionError(ValueError):
    """`predict` cannot run: the artifact was not trained on tables, or the output path is wrong."""


def check_output_path(path, overwrite: bool) -> Path:
    """Returns `--output` as a Path; raises unless it ends in .csv, .tsv, .parquet or .pq and may be written.

    Example:

    >>> check_output_path("predictions.csv", overwrite=False)
    PosixPath('predictions.csv')
    """
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise PredictionError(f"--output: name the predictions file *.csv, *.tsv, *.parquet or *.pq (its "
                              f"suffix picks the format). Received: --output {str(path)!r}")
    if path.is_dir():
        raise PredictionError(f"--output: {path} is a folder; give a file name such as {path / 'predictions.csv'}. "
                              f"Received: --output {str(path)!r}")
    if path.exists() and not overwrite:
        raise PredictionError(f"{path} exists; pass --overwrite to replace it or --output another file. "
                              f"Received: --output {str(path)!r}")
    return path


def prediction_columns(task: str, card: dict, values: np.ndarray) -> dict:
    """One task's output as named prediction columns (see the module docstring).

    Args:
        task: str. The task (output) name.
        card: dict. Its model card entry (`metrics.json` field `outputs`):
            `kind`, `activation`, `vocabulary` or `class_names`.
        values: array. The output, `[rows, ...]`.

    Returns:
        Column name -> one value per row.
    """
    from mtl_zoo.artifacts.model_card import class_names

    values = np.asarray(values)
    names = class_names(card)
    kind, activation = card.get("kind"), card.get("activation")
    if kind == "classification" and activation == "softmax" and values.ndim == 2:
        labels = list(names) if names else list(range(values.shape[1]))
        chosen = np.asarray(labels, dtype=object)[values.argmax(axis=1)]
        columns = {task: chosen if names else chosen.astype("int64")}
        for index, label in enumerate(labels):
            columns[f"{task}_probability_{label}"] = values[:, index]
        return columns
    if kind == "binary" and values.ndim == 2 and values.shape[1] == 1:
        probability = values[:, 0]
        positive = probability >= 0.5
        if names:
            return {task: np.where(positive, names[1], names[0]).astype(object),
                    f"{task}_probability_{names[1]}": probability}
        return {task: positive.astype("int64"), f"{task}_probability": probability}
    flat = values.reshape(len(values), -1)
    if kind == "regression" and flat.shape[1] == 1:
        return {task: flat[:, 0]}
    return {f"{task}_{index}": flat[:, index] for index in range(flat.shape[1])}


def check_reads_tables(folder, recipe, path) -> None:
    """Raises unless the artifact's recipe trained on files with `data.columns` (what `predict` can read)."""
    if recipe.data.columns is None:
        raise PredictionError(
            f"--data: predict reads tables (CSV or Parquet files with the columns of a recipe's data.columns), "
            f"but {folder} was trained on the registered data set '{recipe.data.name}'; call its SavedModel as "
            f"{folder}/MODEL_CARD.md shows. Received: --data {str(path)!r}"
        )


def table_rows(folder, recipe, model, path):
    """The feature rows of a file, typed as the artifact's model takes them.

    Args:
        folder: Path. The artifact folder (for messages).
        recipe: `Recipe`. The artifact's recipe (its `data.columns`).
        model: `MultiTaskModel`. Its inputs give the dtypes.
        path: str or Path. A CSV or Parquet file.

    Returns:
        An unbatched `tf.data.Dataset` of feature dicts.

    Raises:
        PredictionError: the artifact was trained on a registered data set.
        DataError: the file lacks a feature column, or a value does not fit.
    """
    from mtl_zoo.data.tables.files import EVALUATION_SPLIT, evaluation_data_source

    check_reads_tables(folder, recipe, path)
    source, _ = evaluation_data_source(
        path, recipe.data.columns, [], input_dtypes={tensor.name: str(tensor.dtype) for tensor in model.network.inputs},
        vocabularies={}, na_values=recipe.data.na_values, encoding=recipe.data.encoding)
    return source.load(EVALUATION_SPLIT).map(lambda features, labels: features)


def predict_rows(model, rows, output_cards: dict, batch_size: int = PREDICT_BATCH_SIZE):
    """Runs the model over `rows` and returns the predictions as a `pd.DataFrame`, one row per input row.

    Args:
        model: `MultiTaskModel`.
        rows: `tf.data.Dataset`. Unbatched feature dicts.
        output_cards: dict. Task -> model card entry (`metrics.json` field `outputs`).
        batch_size: int. Rows per call. Defaults to `PREDICT_BATCH_SIZE`.

    Example:

    >>> frame = predict_rows(model, table_rows(folder, recipe, model, "new.csv"), metrics["outputs"])  # doctest: +SKIP
    """
    import pandas as pd
    import tensorflow as tf

    names = [tensor.name for tensor in model.network.inputs]
    graph = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
    collected = {task: [] for task in model.task_names}
    for batch in rows.batch(batch_size):
        outputs = graph({name: batch[name] for name in names})
        for task in collected:
            collected[task].append(np.asarray(outputs[task]))
    columns = {}
    for task in model.task_names:
        values = np.concatenate(collected[task]) if collected[task] else np.zeros((0,))
        columns.update(prediction_columns(task, output_cards.get(task, {}), values))
    return pd.DataFrame(columns)


def write_predictions(frame, path) -> None:
    """Writes the predictions to a CSV/TSV or Parquet file (its suffix says which)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    separator = OUTPUT_SUFFIXES[path.suffix.lower()]
    if separator is None:
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, sep=separator, index=False)


def preview(frame, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` predictions as an aligned text table."""
    import pandas as pd

    with pd.option_context("display.max_columns", None, "display.width", 200, "display.precision", 4):
        return frame.head(rows).to_string(index=False)
