"""Task heads: the layers that turn a task's features into its output.

A head is optional hidden Dense layers (`task.head_units`) followed by an
output layer whose width and activation come from the task's kind. The output
layer is named after the task, so `model.summary()` and the output dict speak
the same names.

Example:

>>> import keras
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.heads import build_head
>>> features = keras.Input((16,))
>>> build_head(Task("digit", "classification", 10), features).shape
(None, 10)
"""

from __future__ import annotations

import keras

from mtl_zoo.tasks import Task


def build_head(task: Task, features):
    """Applies a fresh head for `task` to `features` and returns its output.

    Args:
        task: `Task`. Supplies units, activation and hidden widths.
        features: Keras tensor. The task's features, shape `(batch, ...)`;
            features with spatial axes are flattened first.

    Returns:
        The task's output tensor, float32, shape `(batch, task.units)`.
    """
    x = features
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name=f"{task.name}_head_flatten")(x)
    for index, units in enumerate(task.head_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"{task.name}_head_dense_{index}")(x)
    return keras.layers.Dense(
        task.units, activation=task.kind_spec.activation, dtype="float32", name=task.name
    )(x)
