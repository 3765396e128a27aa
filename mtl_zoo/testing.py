"""Shared checks every model in the zoo must pass, for the test suite.

`check_model` trains a model for a few steps on the given data and then checks
the contracts of DESIGN.md: outputs are a dict keyed by task name, `fit` logs
one loss and every metric per task, the config round-trips, `.keras`
save/load gives identical predictions and evaluation logs with the optimizer
restored, and the exported SavedModel (loaded by
TensorFlow alone) gives the same outputs under every signature.

Example:

>>> from mtl_zoo.testing import check_model
>>> check_model(model, features, labels, tmp_path)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mtl_zoo.artifacts.folder import max_abs_difference
from mtl_zoo.artifacts.saved_model import export_saved_model

TOLERANCE = 1e-5


def check_model(
    model, features: dict, labels: dict, folder, epochs: int = 1, expected_parameters=None, saved_model=True
) -> dict:
    """Runs the zoo's model contract checks; raises AssertionError on failure.

    Args:
        model: `MultiTaskModel`. Compiled or not (compiled with Adam if not).
        features: dict of numpy arrays. Model inputs.
        labels: dict of numpy arrays. One entry per task.
        folder: str or Path. Scratch folder for saved files.
        epochs: int. Training epochs before the checks. Defaults to 1.
        expected_parameters: int or None. The parameter count the scheme's
            closed form gives; checked when given. Defaults to None.
        saved_model: bool. Also export and check the SavedModel (a balancer
            does not change what is exported, so balancer rows may skip it).
            Defaults to True.

    Returns:
        The training history dict.
    """
    folder = Path(folder)
    if expected_parameters is not None and model.count_params() != expected_parameters:
        raise AssertionError(
            f"The model has {model.count_params()} parameters; the closed form gives {expected_parameters}"
        )
    loss_term_variables = {variable.path for layer in model.auxiliary_losses for variable in layer.trainable_variables}
    unused = sorted(
        path for path, tasks in model.variable_tasks.items() if not tasks and path not in loss_term_variables
    )
    if unused:
        raise AssertionError(f"Trainable variables no task output depends on: {unused}")
    if not model.compiled:
        model.compile(optimizer="adam")
    history = model.fit(features, labels, epochs=epochs, batch_size=16, verbose=0).history
    expected_logs = {"loss"} | {f"{task.name}_loss" for task in model.tasks}
    expected_logs |= {layer.name for layer in model.auxiliary_losses}
    if getattr(model, "regularization_loss_tracker", None) is not None:
        expected_logs.add("regularization_loss")
    expected_logs |= {f"{name}_weight" for name in model.task_names}
    expected_logs |= {f"{task.name}_{metric}" for task in model.tasks for metric in task.metrics}
    if set(history) != expected_logs:
        raise AssertionError(f"fit logs {sorted(history)}, expected {sorted(expected_logs)}")
    if not all(np.isfinite(values).all() for values in history.values()):
        raise AssertionError(f"Non-finite training logs: {history}")

    predictions = model.predict(features, verbose=0)
    if sorted(predictions) != sorted(model.output_keys) or not set(model.task_names) <= set(predictions):
        raise AssertionError(f"Outputs {sorted(predictions)} are not keyed by tasks {model.task_names}")

    rebuilt = type(model).from_config(model.get_config())
    if [layer.name for layer in rebuilt.network.layers] != [layer.name for layer in model.network.layers]:
        raise AssertionError("from_config(get_config()) rebuilt a different network")
    if rebuilt.count_params() != model.count_params():
        raise AssertionError("from_config(get_config()) rebuilt a model of another size")

    model.save(folder / "model.keras")
    reloaded = keras.models.load_model(folder / "model.keras")
    difference = max_abs_difference(predictions, reloaded.predict(features, verbose=0))
    if difference > TOLERANCE:
        raise AssertionError(f".keras round trip changed predictions by {difference}")
    if not reloaded.compiled or type(reloaded.optimizer) is not type(model.optimizer):
        raise AssertionError(".keras round trip lost the compiled optimizer")
    logs = model.evaluate(features, labels, batch_size=16, return_dict=True, verbose=0)
    reloaded_logs = reloaded.evaluate(features, labels, batch_size=16, return_dict=True, verbose=0)
    if max_abs_difference(logs, reloaded_logs) > 1e-4:
        raise AssertionError(f"Reloaded model evaluates differently: {logs} != {reloaded_logs}")

    if not saved_model:
        return history
    export_saved_model(model, folder / "saved_model")
    served = tf.saved_model.load(str(folder / "saved_model"))
    tensors = {name: tf.constant(value) for name, value in features.items()}
    served_all = served.signatures["serving_default"](**tensors)
    difference = max_abs_difference(predictions, {k: v.numpy() for k, v in served_all.items()})
    if difference > TOLERANCE:
        raise AssertionError(f"SavedModel serving_default differs by {difference}")
    for name in model.output_keys:
        served_task = served.signatures[name](**tensors)
        if list(served_task) != [name]:
            raise AssertionError(f"Signature '{name}' returns {list(served_task)}, expected [{name!r}]")
        difference = float(np.max(np.abs(served_task[name].numpy() - predictions[name])))
        if difference > TOLERANCE:
            raise AssertionError(f"SavedModel signature '{name}' differs by {difference}")
    return history
