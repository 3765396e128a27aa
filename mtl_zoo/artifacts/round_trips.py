"""Round-trip checks: the saved model gives the trained model's outputs, on many rows.

`mtl-zoo train` writes `model.keras` and `saved_model/`, reloads both and
compares their outputs with the trained model's before the artifact is
moved into place. The rows compared (`round_trip_rows`) are every row of
the test split when it has at most `CHECK_ROWS` rows; with a larger test
split, a seeded sample of `CHECK_ROWS` rows drawn from every split (a value
that only the training rows hold, say a rare category, is checked too).

The artifact keeps up to `SAMPLE_ROWS` of those rows in
`round_trip_inputs.tfrecord` (the raw input tensors, serialized as
`TensorProto`s, no Python objects), so a later command can compare
`model.keras` with `saved_model/` without reading any data
(`check_artifact_agreement`): `evaluate`, `export` and `predict` refuse an
artifact whose two models disagree, on those rows and on the data they read.

Example:

>>> from mtl_zoo.artifacts.round_trips import CHECK_ROWS
>>> CHECK_ROWS
2000
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

CHECK_ROWS = 2000
SAMPLE_ROWS = 256
SAMPLE_BYTES = 4 * 2**20
SAMPLE_FILE = "round_trip_inputs.tfrecord"
TOLERANCE = 1e-5
# A split's sample of n rows is drawn from a shuffle buffer of this many times n rows (a split may be large).
_BUFFER_PER_ROW = 4


def signature_input_names(model) -> dict:
    """Model input name -> the name the SavedModel signatures give that input (`mtl_zoo.artifacts.saved_model.serving_input_names`).

    Example:

    >>> signature_input_names(model)  # doctest: +SKIP
    {'island': 'island', 'class': 'class_'}
    """
    from mtl_zoo.artifacts.saved_model import serving_input_names

    return serving_input_names(model)


def _input_names(model) -> list:
    return [tensor.name for tensor in model.network.inputs]


def round_trip_rows(recipe) -> tuple:
    """The feature rows a round-trip check compares the models on.

    Args:
        recipe: `Recipe`. Supplies the data set, its splits and the seed.

    Returns:
        `(rows, counts)`: an unbatched `tf.data.Dataset` of feature dicts
        and split name -> number of its rows in `rows`. Every test row when
        the test split has at most `CHECK_ROWS` rows; else `CHECK_ROWS` rows
        drawn with the recipe's seed from the training and validation splits
        (an equal share each, at most their size) and the test split (the
        rest), each share taken from a shuffle buffer four times its size
        (so a large split is not read whole).

    Example:

    >>> rows, counts = round_trip_rows(load_recipe("recipes/multidigits_hard.yaml"))  # doctest: +SKIP
    >>> counts  # doctest: +SKIP
    {'test': 2000}
    """
    from mtl_zoo.data.tables.files import recipe_data_source
    from mtl_zoo.training.run import count_examples

    data = recipe.data
    data_set = recipe_data_source(recipe)

    def features(split):
        return data_set.load_split(split, data_dir=data.data_dir).map(lambda example, labels: example)

    test_size = count_examples(recipe, data.test_split)
    if test_size <= CHECK_ROWS:
        return features(data.test_split), {data.test_split: test_size}
    others = list(dict.fromkeys(split for split in (data.train_split, data.validation_split)
                                if split and split != data.test_split))
    share = math.ceil(CHECK_ROWS / (len(others) + 1))
    rows, counts = None, {}
    for split in others:
        counts[split] = min(share, count_examples(recipe, split))
    counts[data.test_split] = CHECK_ROWS - sum(counts.values())
    for split, count in counts.items():
        part = features(split).shuffle(max(1, _BUFFER_PER_ROW * count), seed=recipe.seed).take(count)
        rows = part if rows is None else rows.concatenate(part)
    return rows, counts


def _largest_difference(first: dict, second: dict) -> float:
    """Largest absolute difference between two dicts of arrays (NaN on one side only: infinite)."""
    if sorted(first) != sorted(second):
        raise ValueError(f"Output keys differ: {sorted(first)} != {sorted(second)}")
    largest = 0.0
    for key in first:
        one, other = np.asarray(first[key], "float64"), np.asarray(second[key], "float64")
        difference = np.where(np.isnan(one) & np.isnan(other), 0.0, np.abs(one - other))
        if np.isnan(difference).any():
            return float("inf")
        if difference.size:
            largest = max(largest, float(difference.max()))
    return largest


def _served(signature, names: dict):
    """Calls a SavedModel signature with a batch keyed by model input names."""
    return lambda batch: signature(**{names[name]: value for name, value in batch.items()})


def _numpy(outputs) -> dict:
    return {name: np.asarray(value) for name, value in outputs.items()}


def check_round_trips(model, folder, rows, batch_size: int) -> dict:
    """Reloads `model.keras` and `saved_model/` from `folder`; returns their largest differences on `rows`.

    Like is compared with like: the reloaded model's eager outputs with the
    model's eager outputs, the SavedModel's (a graph) with the model's run as
    a graph (in a mixed bfloat16 policy eager and graph execution round
    differently). Both run on this process only, so under a multi-worker
    strategy the chief checks alone.

    Args:
        model: `MultiTaskModel`. The trained model.
        folder: Path. Holds `model.keras` and `saved_model/`.
        rows: `tf.data.Dataset`. Unbatched feature dicts (`round_trip_rows`).
        batch_size: int. Rows per call.

    Returns:
        `{"keras": float, "saved_model": float}`, the largest absolute
        output difference over every row.

    Example:

    >>> check_round_trips(model, Path("run"), round_trip_rows(recipe)[0], 64)  # doctest: +SKIP
    {'keras': 0.0, 'saved_model': 0.0}
    """
    from mtl_zoo.artifacts.folder import MODEL_FILE, SAVED_MODEL_DIR, load_model

    folder = Path(folder)
    graph = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
    reloaded = load_model(folder / MODEL_FILE, safe_mode=True)
    served = _served(tf.saved_model.load(str(folder / SAVED_MODEL_DIR)).signatures["serving_default"],
                     signature_input_names(model))
    names = _input_names(model)
    largest = {"keras": 0.0, "saved_model": 0.0}
    for batch in rows.batch(batch_size):
        batch = {name: batch[name] for name in names}
        eager = _numpy(model(batch, training=False))
        largest["keras"] = max(largest["keras"], _largest_difference(eager, _numpy(reloaded(batch, training=False))))
        largest["saved_model"] = max(largest["saved_model"],
                                     _largest_difference(_numpy(graph(batch)), _numpy(served(batch))))
    return largest


def write_sample(rows, path, model) -> int:
    """Writes up to `SAMPLE_ROWS` of `rows` (at most `SAMPLE_BYTES`) to `path`; returns the number written.

    Args:
        rows: `tf.data.Dataset`. Unbatched feature dicts.
        path: str or Path. The `.tfrecord` file to write.
        model: `MultiTaskModel`. Its inputs name the tensors kept.
    """
    names = _input_names(model)
    batch = next(iter(rows.batch(SAMPLE_ROWS).take(1)))
    size = int(tf.shape(batch[names[0]])[0])
    row_bytes = sum(int(np.asarray(batch[name][:1]).nbytes) or 64 for name in names)
    keep = max(1, min(size, SAMPLE_BYTES // max(row_bytes, 1)))
    feature = {name: tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[tf.io.serialize_tensor(batch[name][:keep]).numpy()])) for name in names}
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return keep


def read_sample(path, model) -> dict:
    """The feature batch `write_sample` stored at `path`, typed as `model`'s inputs.

    Raises:
        ArtifactError: the file is unreadable or does not fit the model.
    """
    from mtl_zoo.artifacts.folder import ArtifactError

    try:
        (record,) = list(tf.data.TFRecordDataset(str(path)).take(2))
        example = tf.train.Example.FromString(record.numpy())
        batch = {}
        for tensor in model.network.inputs:
            value = example.features.feature[tensor.name].bytes_list.value[0]
            batch[tensor.name] = tf.io.parse_tensor(value, out_type=tf.as_dtype(tensor.dtype))
    except Exception as error:  # any damage: truncated file, foreign record, wrong dtype
        detail = (str(error).strip().splitlines() or [""])[0][:200]
        raise ArtifactError(f"{path} is damaged ({type(error).__name__}: {detail}); it holds the rows that "
                            "check model.keras against saved_model/: train the artifact again.") from None
    return batch


def leading_batches(batches, limit: int = CHECK_ROWS):
    """The feature dicts of the first batches of `batches` that hold `limit` rows (the last one cut).

    Args:
        batches: iterable of feature dicts, or of `(features, labels)` pairs.
        limit: int. Rows to yield in all. Defaults to `CHECK_ROWS`.

    Example:

    >>> rows = tf.data.Dataset.from_tensor_slices({"x": [1.0, 2.0, 3.0]}).batch(2)
    >>> [batch["x"].numpy().tolist() for batch in leading_batches(rows, limit=3)]
    [[1.0, 2.0], [3.0]]
    """
    remaining = limit
    for batch in batches:
        if remaining <= 0:
            return
        features = batch[0] if isinstance(batch, tuple) else batch
        size = int(tf.shape(tf.nest.flatten(features)[0])[0])
        if size > remaining:
            features = {name: value[:remaining] for name, value in features.items()}
            size = remaining
        remaining -= size
        yield features


def check_artifact_agreement(folder, model, batches=(), described: str = "") -> dict:
    """Raises unless `model.keras` (loaded as `model`) and `saved_model/` give the same outputs.

    Compares on the rows the artifact stored (`SAMPLE_FILE`) and on
    `batches` (e.g. the first rows of the data a command reads), the
    `.keras` model run as a graph against the SavedModel's signature.

    Args:
        folder: str or Path. The artifact folder.
        model: `MultiTaskModel`. Its `model.keras`, loaded.
        batches: iterable of feature dicts keyed by model input name.
            Defaults to none.
        described: str. What `batches` are, for the message (e.g. "the
            first 2000 rows of new.csv"). Defaults to "".

    Returns:
        `{"rows": int, "max_abs_difference": float}`.

    Raises:
        ArtifactError: the two disagree by more than `TOLERANCE`, or the
            SavedModel or the stored rows cannot be read.

    Example:

    >>> check_artifact_agreement("saved_models/penguins", model)  # doctest: +SKIP
    {'rows': 206, 'max_abs_difference': 0.0}
    """
    from mtl_zoo.artifacts.folder import ArtifactError, load_saved_model

    folder = Path(folder)
    served = _served(load_saved_model(folder).signatures["serving_default"], signature_input_names(model))
    graph = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
    names = _input_names(model)
    parts = []
    sample = folder / SAMPLE_FILE
    if sample.exists():
        parts.append(("the rows stored in " + SAMPLE_FILE, [read_sample(sample, model)]))
    parts.append((described, batches))
    rows, largest, where = 0, 0.0, ""
    for what, part in parts:
        for batch in part:
            batch = {name: batch[name] for name in names}
            try:
                difference = _largest_difference(_numpy(graph(batch)), _numpy(served(batch)))
            except Exception as error:  # a tampered SavedModel or sample: wrong inputs, shapes or outputs
                detail = (str(error).strip().splitlines() or [""])[0][:200]
                raise ArtifactError(f"{folder}: model.keras and saved_model/ cannot be compared on {what} "
                                    f"({type(error).__name__}: {detail}); the artifact is damaged: train again."
                                    ) from None
            rows += int(tf.shape(batch[names[0]])[0])
            if difference > largest:
                largest, where = difference, what
    if largest > TOLERANCE:
        raise ArtifactError(
            f"{folder}: model.keras and saved_model/ disagree by {largest:.3g} on {where} (more than {TOLERANCE}); "
            f"the artifact does not hold the model it was trained as: train again. "
            f"Received: max_abs_difference={largest:.6g}"
        )
    return {"rows": rows, "max_abs_difference": largest}
