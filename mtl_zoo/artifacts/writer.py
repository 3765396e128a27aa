"""Artifacts: the folder a training run leaves behind, written safely.

A finished artifact folder holds `model.keras`, `saved_model/` (one serving
signature per task plus `serving_default`), `metrics.json` (test metrics,
timing, the model card of inputs and outputs, versions and the resolved
recipe), `MODEL_CARD.md` (how to call the SavedModel, with an example
request), `round_trip_inputs.tfrecord` (rows that check `model.keras`
against `saved_model/` later, see `mtl_zoo.artifacts.round_trips`), `recipe.yaml`, `learning_curves.png`, `task_weights.png` (the
balancer's per-task weights over the epochs, also in `metrics.json` under
`task_weights`) and, when the run recorded them, TensorBoard logs in
`tensorboard/` and the gradient-conflict heatmap (`gradient_conflicts.png`).
A run writes into a hidden staging folder beside the target and only moves it
into place once everything is written and checked, so a failed or interrupted
run never damages a finished artifact; replacing one needs `overwrite=True`.

Reading an artifact runs none of its code unless asked: `model.keras` loads
in Keras safe mode (no Python lambdas), the plugins it records are imported
only when trusted (`load_artifact_plugins`), and a damaged file is a
one-line `ArtifactError`.

Example:

>>> from mtl_zoo.artifacts.writer import check_output_folder
>>> check_output_folder("saved_models/does_not_exist_yet", overwrite=False)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import keras
import tensorflow as tf
import yaml

from mtl_zoo.artifacts.saved_model import export_saved_model
from mtl_zoo.artifacts.model_card import write_model_card
from mtl_zoo.training.learning_curves import plot_learning_curves, plot_task_weights
from mtl_zoo.utils.plugins import plugin_record
from mtl_zoo.artifacts.round_trips import SAMPLE_FILE, check_round_trips, round_trip_rows, write_sample
from mtl_zoo.artifacts.folder import (
    ArtifactError,
    CURVES_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RECIPE_FILE,
    ROUND_TRIP_TOLERANCE,
    SAVED_MODEL_DIR,
    TASK_WEIGHTS_FILE,
    TENSORBOARD_DIR,
    load_model,
)
from mtl_zoo.models.parameters import count_parameters


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
    """Returns `folder` as a Path if it holds what `mtl-zoo train` writes, else raises.

    Required: `model.keras`, `saved_model/` (with its `saved_model.pb`),
    `metrics.json` and `recipe.yaml`.

    Example:

    >>> check_artifact_folder("no/such/folder")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    mtl_zoo.artifacts.folder.ArtifactError: no/such/folder is not a trained artifact ...
    """
    folder = Path(folder)
    required = {MODEL_FILE: MODEL_FILE, f"{SAVED_MODEL_DIR}/": f"{SAVED_MODEL_DIR}/saved_model.pb",
                METRICS_FILE: METRICS_FILE, RECIPE_FILE: RECIPE_FILE}
    missing = [name for name, path in required.items() if not (folder / path).is_file()]
    if missing:
        what = "not a trained artifact" if len(missing) == len(required) else "an incomplete artifact"
        raise ArtifactError(
            f"{folder} is {what} (missing {', '.join(missing)}); give a folder written by `mtl-zoo train`, "
            f"e.g. saved_models/<recipe name>, or train it again. Received: {str(folder)!r}"
        )
    return folder


def read_metrics(folder) -> dict:
    """The artifact's `metrics.json` as a dict; raises `ArtifactError` in one line if it is unreadable.

    Example:

    >>> read_metrics("saved_models/penguins")["recipe"]  # doctest: +SKIP
    'penguins'
    """
    path = Path(folder) / METRICS_FILE
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        detail = (str(error).strip().splitlines() or [""])[0][:200]
        raise ArtifactError(f"{path} is missing or not readable JSON ({type(error).__name__}: {detail}); "
                            "train the artifact again.") from None
    if not isinstance(metrics, dict):
        raise ArtifactError(f"{path} holds a JSON {type(metrics).__name__}, not the object `mtl-zoo train` "
                            "writes; train the artifact again.")
    return metrics


def load_artifact_plugins(folder, trusted: bool = False) -> list:
    """Loads the plugins an artifact was trained with (its `metrics.json` field `plugins`), if trusted.

    An artifact whose recipe names a trunk, scheme, balancer or data set that
    a plugin registered can only be read once that plugin is imported again.
    Importing a module runs its code, so a recorded plugin that this process
    has not loaded yet (by `--import` or an installed entry point) is only
    imported with `trusted`; otherwise the error names the plugins and the
    options that import them.

    Args:
        folder: str or Path. An artifact folder.
        trusted: bool. Import the plugins the artifact records (the
            command line's `--trust-plugins`). Defaults to False.

    Returns:
        The plugins loaded (see `mtl_zoo.utils.plugins.LoadedPlugin`).

    Raises:
        PluginError: a recorded plugin is not loaded and not trusted, or is
            missing or fails to import.
        ArtifactError: `metrics.json` or its `plugins` field is damaged.

    Example:

    >>> load_artifact_plugins("saved_models/multidigits_hard")  # doctest: +SKIP
    []
    """
    from mtl_zoo.errors import PluginError
    from mtl_zoo.utils.plugins import RECORD_FIELD, check_plugin_record, import_recorded_plugins, pending_plugins

    path = Path(folder) / METRICS_FILE
    record = read_metrics(folder).get(RECORD_FIELD)
    problem = check_plugin_record(record)
    if problem:
        raise ArtifactError(f"{path}: field '{RECORD_FIELD}' {problem}; the file is damaged: train the artifact "
                            f"again. Received: {json.dumps(record)[:200]}")
    pending = pending_plugins(record)
    if pending and not trusted:
        modules = [plugin.split(":")[0] for plugin in pending]
        imports = " ".join(f"--import {module}" for module in dict.fromkeys(modules))
        raise PluginError(
            f"{folder} was trained with plugin code that is not loaded ({', '.join(pending)}); importing it runs "
            f"that code: if you trust it, pass {imports} or --trust-plugins. Received: plugins={pending}"
        )
    return import_recorded_plugins(record, needed_by=str(folder))


def load_artifact_model(folder):
    """Loads an artifact's `model.keras` in Keras safe mode; a damaged file raises `ArtifactError` in one line.

    Args:
        folder: str or Path. An artifact folder.

    Example:

    >>> model = load_artifact_model("saved_models/penguins")  # doctest: +SKIP
    """
    path = Path(folder) / MODEL_FILE
    try:
        return load_model(path, safe_mode=True)
    except Exception as error:  # any damage: truncated zip, foreign config, unsafe lambda, missing class
        detail = " ".join(str(error).split())[:300]
        raise ArtifactError(f"{path} cannot be loaded ({type(error).__name__}: {detail}); it is damaged or not a "
                            "model `mtl-zoo train` wrote: train the artifact again.") from None


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


def source_revision() -> dict:
    """The package version and, when mtl_zoo runs from a git checkout, its commit.

    Returns:
        `{"package_version": str, "git_commit": str or None, "git_dirty": bool
        or None}`; `git_dirty` says whether tracked files differ from the
        commit. Both git fields are None outside a checkout of mtl_zoo itself
        (e.g. an installed wheel) or without git.

    Example:

    >>> sorted(source_revision())
    ['git_commit', 'git_dirty', 'package_version']
    """
    import mtl_zoo

    revision = {"package_version": mtl_zoo.__version__, "git_commit": None, "git_dirty": None}
    project = Path(mtl_zoo.__file__).resolve().parent.parent

    def git(*arguments):
        return subprocess.run(["git", "-C", str(project), *arguments], capture_output=True, text=True,
                              timeout=10, check=True).stdout

    try:
        toplevel, commit = git("rev-parse", "--show-toplevel", "HEAD").split()
        if Path(toplevel).resolve() == project:
            revision["git_commit"] = commit
            revision["git_dirty"] = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return revision


def resolved_recipe(recipe, model) -> dict:
    """The recipe as plain data, with every task's loss and metrics as the model uses them.

    Args:
        recipe: `Recipe`. The validated recipe.
        model: `MultiTaskModel`. The model built from it (its `Task`s hold the
            kind's default loss and metrics where the recipe named none).

    Returns:
        A dict that `mtl_zoo.recipes.validation.validate_recipe` accepts.

    Example:

    >>> document = resolved_recipe(recipe, result.model)  # doctest: +SKIP
    >>> document["tasks"][0]["loss"]  # doctest: +SKIP
    'sparse_categorical_crossentropy'
    """
    document = recipe.model_dump(mode="json")
    tasks = {task.name: task for task in model.tasks}
    for entry in document["tasks"]:
        entry["loss"] = tasks[entry["name"]].loss
        entry["metrics"] = list(tasks[entry["name"]].metrics)
    return document


def model_card(model, recipe) -> dict:
    """What a served model takes and returns: `{"inputs": {...}, "outputs": {...}}`.

    Inputs are named as the SavedModel signatures take them, with shape (per
    example), dtype, the value range the data set feeds and a description;
    outputs have their task kind, shape per example (`[units]` for
    sentence-level and box tasks, `[tokens, classes]` for tagging,
    `[height, width, units]` for per-pixel tasks), output activation and the
    task's `class_names` if it has them (`TaskKind.output_card`), and, for
    labels that were strings, their `vocabulary` (class names in index order).

    Args:
        model: `MultiTaskModel`. The trained model.
        recipe: `Recipe`. Names the data set whose input specs give the ranges.

    Example:

    >>> model_card(result.model, recipe)["inputs"]["image"]["value_range"]  # doctest: +SKIP
    [0.0, 1.0]
    """
    from mtl_zoo.data.tables.files import recipe_data_source

    from mtl_zoo.artifacts.saved_model import serving_input_names

    data_set = recipe_data_source(recipe)
    specs = data_set.inputs
    signature_names = serving_input_names(model)
    inputs = {}
    for tensor in model.network.inputs:
        spec = specs.get(tensor.name)
        inputs[tensor.name] = {
            **(spec.card() if spec is not None else {"value_range": None, "description": ""}),
            "shape": [int(size) if size is not None else None for size in tensor.shape[1:]],
            "dtype": str(tensor.dtype),
            "signature_name": signature_names[tensor.name],
        }
    network_outputs = model.network.output
    outputs = {
        task.name: task.kind_spec.output_card(
            task, [int(size) if size is not None else None for size in network_outputs[task.name].shape[1:]])
        for task in model.tasks
    }
    for task in recipe.tasks:
        label = data_set.labels.get(task.label_name)
        if label is not None and label.vocabulary is not None and task.name in outputs:
            outputs[task.name]["vocabulary"] = list(label.vocabulary)
    return {"inputs": inputs, "outputs": outputs}


def saved_label_vocabularies(folder) -> dict:
    """Task name -> class names (a tuple) of the tasks whose labels were strings, from `metrics.json`.

    Args:
        folder: str or Path. An artifact folder.

    Example:

    >>> saved_label_vocabularies("saved_models/penguins")  # doctest: +SKIP
    {'species': ('Adelie', 'Chinstrap', 'Gentoo')}
    """
    path = Path(folder) / METRICS_FILE
    try:
        outputs = json.loads(path.read_text())["outputs"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"{path} is missing or unreadable ({type(error).__name__}: {error}); it holds the "
                            "class names of string labels: train the artifact again.") from None
    return {task: tuple(card["vocabulary"]) for task, card in outputs.items() if "vocabulary" in card}


def check_label_vocabularies(folder, recipe) -> None:
    """Raises unless the recipe's data files still give the class names the artifact was trained with.

    Class names of string labels come from the training file's values; if
    the file changed, the same index would mean another class.

    Args:
        folder: str or Path. The artifact folder.
        recipe: `Recipe`. Its recipe, as reloaded.

    Example:

    >>> check_label_vocabularies("saved_models/penguins", recipe)  # doctest: +SKIP
    """
    from mtl_zoo.data.tables.files import recipe_data_source

    if recipe.data.columns is None:
        return
    saved = saved_label_vocabularies(folder)
    labels = recipe_data_source(recipe).labels
    training_file = recipe.data.file or recipe.data.files[recipe.data.train_split]
    for task in recipe.tasks:
        now = labels[task.label_name].vocabulary
        if now != saved.get(task.name):
            raise ArtifactError(
                f"{folder} was trained with the classes {list(saved.get(task.name) or [])} for task "
                f"'{task.name}', but column '{task.label_name}' of {training_file} now gives "
                f"{list(now or [])}; evaluate on the training data as it was, or train again."
            )


def write_artifact(result, recipe, target, overwrite: bool = False, tensorboard_logs=None,
                   extra_metrics=None) -> Path:
    """Writes a training run to `target` atomically.

    Args:
        result: `TrainingResult`. The trained model, history and metrics.
        recipe: `Recipe`. The resolved recipe that produced it.
        target: str or Path. Destination folder.
        overwrite: bool. Replace a folder that already holds files.
            Defaults to False.
        tensorboard_logs: str, Path or None. A folder of TensorBoard logs
            written during training, moved into `target/tensorboard/`.
            Defaults to None.
        extra_metrics: dict or None. More `metrics.json` fields, written
            after `test` (e.g. the single-task baselines and Δm of
            `mtl_zoo.training.single_task`). Defaults to None.

    Returns:
        The target folder.

    Example:

    >>> write_artifact(train_recipe(recipe), recipe, "saved_models/run")  # doctest: +SKIP
    PosixPath('saved_models/run')
    """
    target = Path(target)
    check_output_folder(target, overwrite)
    staging = staging_folder(target)
    try:
        result.model.save(staging / MODEL_FILE)
        export_saved_model(result.model, staging / SAVED_MODEL_DIR)
        resolved = resolved_recipe(recipe, result.model)
        (staging / RECIPE_FILE).write_text(yaml.safe_dump(resolved, sort_keys=False))
        rows, row_counts = round_trip_rows(recipe)
        round_trip = check_round_trips(result.model, staging, rows, recipe.training.batch_size)
        checked = ", ".join(f"{count} {split}" for split, count in row_counts.items())
        if max(round_trip.values()) > ROUND_TRIP_TOLERANCE:
            raise ArtifactError(
                f"Reloaded model outputs differ from the trained model by more than "
                f"{ROUND_TRIP_TOLERANCE} on the check rows ({checked}); nothing was written to {target}. "
                f"Received: {round_trip}"
            )
        write_sample(rows, staging / SAMPLE_FILE, result.model)
        plot_learning_curves(
            result.history, {task.name: list(task.metrics) for task in result.model.tasks}, staging / CURVES_FILE
        )
        plot_task_weights(result.history, result.model.task_names, staging / TASK_WEIGHTS_FILE)
        for write in result.artifact_writers:
            write(staging)
        if tensorboard_logs is not None:
            shutil.copytree(tensorboard_logs, staging / TENSORBOARD_DIR)
        metrics = {
            "recipe": recipe.name,
            "test": result.test_metrics,
            **(extra_metrics or {}),
            "epochs": recipe.training.epochs,
            **({"early_stopping": result.early_stopping} if result.early_stopping is not None else {}),
            "timing": {
                "train_seconds": round(result.train_seconds, 3),
                "evaluation_seconds": round(result.evaluation_seconds, 3),
                "train_examples": result.train_examples,
                "examples_per_second": round(result.examples_per_second, 1),
            },
            "parameters": count_parameters(result.model),
            **model_card(result.model, recipe),
            "round_trip_max_abs_difference": round_trip,
            "round_trip_rows": row_counts,
            "task_weights": {name: result.history.get(f"{name}_weight", []) for name in result.model.task_names},
            "history": result.history,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **source_revision(),
            "versions": {
                "python": platform.python_version(),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
            "resolved_recipe": resolved,
            "plugins": plugin_record(),
        }
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
        write_model_card(staging, result.model, recipe, metrics, rows)
        replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
