"""An artifact folder: the names of its files, its error, and loading its `.keras` model and SavedModel.

The writer, the model card and the round-trip checks all read these, so they
live below all three.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf


MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
METRICS_FILE = "metrics.json"
RECIPE_FILE = "recipe.yaml"
CURVES_FILE = "learning_curves.png"
TASK_WEIGHTS_FILE = "task_weights.png"
TENSORBOARD_DIR = "tensorboard"
MODEL_CARD_FILE = "MODEL_CARD.md"
ROUND_TRIP_TOLERANCE = 1e-5


class ArtifactError(ValueError):
    """An artifact folder is missing, incomplete, or would be overwritten."""


def load_saved_model(folder):
    """Loads an artifact's `saved_model/`; a missing or damaged one raises `ArtifactError` in one line.

    Args:
        folder: str or Path. An artifact folder.

    Example:

    >>> served = load_saved_model("saved_models/penguins")  # doctest: +SKIP
    """
    path = Path(folder) / SAVED_MODEL_DIR
    if not (path / "saved_model.pb").is_file():
        raise ArtifactError(f"{folder} has no {SAVED_MODEL_DIR}/ (or it lacks saved_model.pb); the artifact is "
                            f"incomplete: train it again. Received: {str(folder)!r}")
    try:
        served = tf.saved_model.load(str(path))
        served.signatures["serving_default"]
    except Exception as error:  # any damage: truncated protobuf, missing variables, no default signature
        detail = " ".join(str(error).split())[:300]
        raise ArtifactError(f"{path} cannot be loaded ({type(error).__name__}: {detail}); it is damaged: train "
                            "the artifact again.") from None
    return served


def max_abs_difference(first: dict, second: dict) -> float:
    """Largest absolute difference between two dicts of arrays; their keys must match."""
    if sorted(first) != sorted(second):
        raise ValueError(f"Output keys differ: {sorted(first)} != {sorted(second)}")
    return max(float(np.max(np.abs(np.asarray(first[k]) - np.asarray(second[k])))) for k in first)


def load_model(path, **options):
    """Loads a `.keras` model written by mtl_zoo, registering mtl_zoo's Keras classes first.

    `keras.models.load_model` alone can only rebuild a `MultiTaskModel` once
    mtl_zoo's classes are registered (any use of `mtl_zoo.Task`,
    `mtl_zoo.build_model`, ... registers them); this function does that for you.
    It loads in Keras safe mode (a Python lambda in the file is refused)
    unless `safe_mode=False` is passed.

    Args:
        path: str or Path. A `.keras` file, e.g. `saved_models/<recipe>/model.keras`.
        **options: passed on to `keras.models.load_model` (e.g. `compile=False`).

    Returns:
        The `MultiTaskModel`.

    Example:

    >>> import mtl_zoo
    >>> model = mtl_zoo.load_model("saved_models/multidigits_hard/model.keras")  # doctest: +SKIP
    """
    import mtl_zoo

    mtl_zoo._import_library()
    options.setdefault("safe_mode", True)
    return keras.models.load_model(path, **options)
