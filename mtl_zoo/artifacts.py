"""Artifacts: the folder a training run leaves behind, written safely.

A finished artifact folder holds `model.keras`, `saved_model/` (one serving
signature per task plus `serving_default`), `metrics.json` and `recipe.yaml`.
A run writes into a hidden staging folder beside the target and only moves it
into place once everything is written and checked, so a failed or interrupted
run never damages a finished artifact; replacing one needs `overwrite=True`.

Example:

>>> from mtl_zoo.artifacts import check_output_folder
>>> check_output_folder("saved_models/does_not_exist_yet", overwrite=False)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mtl_zoo.export import export_saved_model
from mtl_zoo.recipes import dump_recipe

MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
METRICS_FILE = "metrics.json"
RECIPE_FILE = "recipe.yaml"
ROUND_TRIP_TOLERANCE = 1e-5


class ArtifactError(ValueError):
    """An artifact folder is missing, incomplete, or would be overwritten."""


def check_output_folder(folder, overwrite: bool) -> None:
    """Raises `ArtifactError` if `folder` holds files and `overwrite` is False."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        finished = (folder / METRICS_FILE).exists()
        what = "a finished artifact" if finished else "files"
        raise ArtifactError(
            f"{folder} already holds {what}; pass --overwrite to replace it or "
            f"--output DIR to write elsewhere. Received: output={str(folder)!r}"
        )


def check_artifact_folder(folder) -> Path:
    """Returns `folder` as a Path if it holds `model.keras` and `recipe.yaml`, else raises."""
    folder = Path(folder)
    missing = [name for name in (MODEL_FILE, RECIPE_FILE) if not (folder / name).exists()]
    if missing:
        raise ArtifactError(
            f"{folder} is not a trained artifact (missing {', '.join(missing)}); give a folder "
            f"written by `mtl-zoo train`, e.g. saved_models/<recipe name>. Received: {str(folder)!r}"
        )
    return folder


def replace_folder(staging: Path, target: Path) -> None:
    """Moves `staging` to `target`, replacing `target` only after the move is ready."""
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.with_name(f".{target.name}.previous-{os.getpid()}")
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    if previous.exists():
        shutil.rmtree(previous)


def staging_folder(target: Path) -> Path:
    """A fresh hidden folder beside `target` to write into."""
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def max_abs_difference(first: dict, second: dict) -> float:
    """Largest absolute difference between two dicts of arrays; their keys must match."""
    if sorted(first) != sorted(second):
        raise ValueError(f"Output keys differ: {sorted(first)} != {sorted(second)}")
    return max(float(np.max(np.abs(np.asarray(first[k]) - np.asarray(second[k])))) for k in first)


def check_round_trips(model, folder: Path, features: dict) -> dict:
    """Reloads `.keras` and the SavedModel from `folder`; returns their max abs differences."""
    expected = {name: value.numpy() for name, value in model(features, training=False).items()}
    reloaded = keras.models.load_model(folder / MODEL_FILE)
    served = tf.saved_model.load(str(folder / SAVED_MODEL_DIR))
    return {
        "keras": max_abs_difference(expected, reloaded.predict(features, verbose=0)),
        "saved_model": max_abs_difference(expected, served.signatures["serving_default"](**features)),
    }


def count_parameters(model) -> int:
    """Number of weights (trainable and not) in the model."""
    return int(sum(np.prod(variable.shape) for variable in model.weights))


def write_artifact(result, recipe, target, overwrite: bool = False) -> Path:
    """Writes a training run to `target` atomically.

    Args:
        result: `TrainingResult`. The trained model, history and metrics.
        recipe: `Recipe`. The resolved recipe that produced it.
        target: str or Path. Destination folder.
        overwrite: bool. Replace a folder that already holds files.
            Defaults to False.

    Returns:
        The target folder.
    """
    target = Path(target)
    check_output_folder(target, overwrite)
    staging = staging_folder(target)
    try:
        result.model.save(staging / MODEL_FILE)
        export_saved_model(result.model, staging / SAVED_MODEL_DIR)
        (staging / RECIPE_FILE).write_text(dump_recipe(recipe))
        round_trip = check_round_trips(result.model, staging, result.test_batch[0])
        if max(round_trip.values()) > ROUND_TRIP_TOLERANCE:
            raise ArtifactError(
                f"Reloaded model outputs differ from the trained model by more than "
                f"{ROUND_TRIP_TOLERANCE}; nothing was written to {target}. Received: {round_trip}"
            )
        metrics = {
            "recipe": recipe.name,
            "test": result.test_metrics,
            "epochs": recipe.training.epochs,
            "wall_time_seconds": round(result.wall_time_seconds, 3),
            "parameters": count_parameters(result.model),
            "round_trip_max_abs_difference": round_trip,
            "history": result.history,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": {
                "python": platform.python_version(),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
            "resolved_recipe": recipe.model_dump(mode="json"),
        }
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
        replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
