"""SavedModel export with one serving signature per task.

The exported SavedModel has a `serving_default` signature returning every
output and one signature per output (named after the task, or after an
output without a loss such as gate weights) returning that output only. Inputs are named as the model's inputs. Loading it
needs TensorFlow only, not mtl_zoo.

Example:

>>> import numpy as np, tensorflow as tf
>>> from mtl_zoo.export import export_saved_model
>>> export_saved_model(model, "/tmp/exported")  # doctest: +SKIP
>>> served = tf.saved_model.load("/tmp/exported")  # doctest: +SKIP
>>> served.signatures["left_digit"](image=np.zeros((1, 12, 20, 1), "float32"))  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import tensorflow as tf


def input_signature(model) -> list:
    """Returns one named `tf.TensorSpec` per model input (batch axis unknown)."""
    return [
        tf.TensorSpec(shape=tensor.shape, dtype=tensor.dtype, name=tensor.name)
        for tensor in model.network.inputs
    ]


def _serving_function(model, specs, task_name=None):
    names = [spec.name for spec in specs]

    def serve(*tensors):
        outputs = model(dict(zip(names, tensors)), training=False)
        if task_name is not None:
            return {task_name: outputs[task_name]}
        return dict(outputs)

    return tf.function(serve, input_signature=specs)


def export_saved_model(model, path: str) -> str:
    """Writes `model` as a TensorFlow SavedModel with per-task signatures.

    Args:
        model: `MultiTaskModel`. The trained model.
        path: str. Output directory (created; must not hold files that
            matter: it is overwritten).

    Returns:
        The path written.
    """
    specs = input_signature(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", _serving_function(model, specs))
    for name in model.output_keys:
        archive.add_endpoint(name, _serving_function(model, specs, task_name=name))
    archive.write_out(str(path), verbose=False)
    return str(path)
