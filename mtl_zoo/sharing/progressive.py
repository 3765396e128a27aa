"""Progressive networks: one column per task, lateral connections from earlier columns.

Every task has its own column (a copy of every trunk block). Column k also
reads the block outputs of columns 0..k-1 (tasks in model order) through
lateral connections: after block i, a learned projection of the earlier
columns' block-i outputs is added to column k's block-i output, which feeds
column k's block i+1 (or its head, after the last block). Gradients do not
flow back through a lateral connection, so a column is trained by its own
task only and earlier tasks' outputs never depend on later tasks' training
(Rusu et al., 2016: https://arxiv.org/abs/1606.04671).

The projection is a dense map over the last axis of the concatenated earlier
outputs (`LateralConnection`): a 1x1 convolution for image feature maps, a
Dense layer for vectors, so it works for convolution and dense blocks alike.
The next block starts with a linear layer, so adding the projection to its
input adds a linear function of the earlier columns to that layer's
pre-activation, as in the paper. Blocks of one level must give the same shape
in every column, which holds as columns are copies of one trunk.

`add_task(model, task)` grows a trained progressive model by one column:
earlier columns, their lateral connections and heads keep their trained
weights and are frozen, so training the new model changes only the new
task's column and head. Because of the stopped gradients,
`MultiTaskModel.variable_tasks` reports every column as private to its task.

A task's feature maps are its column's activations after each block's
lateral connection (what its next block, or its head, reads), shallow to
deep; per-pixel and per-token heads decode them, also for a column that
`add_task` adds.

Layer names: `{task}_block_{i}` (column blocks), `{task}_lateral_{i}` (the
lateral connection adding earlier columns' block-i outputs to column
`task`'s); the first task's column has no lateral connections.

Options: none.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.progressive import progressive
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = progressive(keras.Input((3,)), trunk, tasks)
>>> sorted(result.features), len(result.feature_maps["b"])
(['a', 'b'], 2)
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, reports_feature_maps


@keras.saving.register_keras_serializable(package="mtl_zoo")
class LateralConnection(keras.layers.Layer):
    """Adds a learned projection of earlier columns' activations to a column's activation.

    Called on `[own, earlier_1, ..., earlier_n]`, all of one shape
    `(batch, ..., channels)`; returns
    `own + concat(earlier, axis=-1) @ kernel + bias`, with no gradient
    flowing into the earlier activations.

    Args:
        **kwargs: Keras layer arguments such as `name`.
    """

    def build(self, input_shape):
        own, *earlier = input_shape
        if not earlier or any(tuple(shape[1:]) != tuple(own[1:]) for shape in earlier):
            raise ValueError(
                "LateralConnection needs its own activation and at least one earlier column's, all "
                f"of one shape. Received: input_shape={input_shape}"
            )
        channels = own[-1]
        self.kernel = self.add_weight(
            shape=(len(earlier) * channels, channels), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")

    def call(self, inputs):
        own, *earlier = inputs
        earlier = ops.concatenate([ops.stop_gradient(x) for x in earlier], axis=-1)
        return own + ops.matmul(earlier, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def add_column(features, blocks, task_name: str, earlier: list) -> tuple:
    """Wires one column and its lateral connections.

    Args:
        features: Keras tensor. Input of the column's first block.
        blocks: list of callables. `blocks[i](prefix)` returns block i+1.
        task_name: str. The column's task (layer name prefix).
        earlier: list of lists. `earlier[j][i]` is column j's block-(i+1)
            output.

    Returns:
        `(block_outputs, feature_maps)`: this column's block outputs (for
        later columns' lateral connections) and its activations after each
        lateral connection (its feature maps; the last one is the features
        its head takes).
    """
    outputs, maps = [], []
    x = features
    for index, block in enumerate(blocks):
        x = block(f"{task_name}_block_{index + 1}")(x)
        outputs.append(x)
        if earlier:
            x = LateralConnection(name=f"{task_name}_lateral_{index + 1}")([x] + [column[index] for column in earlier])
        maps.append(x)
    return outputs, maps


@SHARING_SCHEMES.register("progressive")
@reports_feature_maps
def progressive(features, trunk, tasks) -> SharingResult:
    """One column per task, in task order; column k reads columns 0..k-1 laterally.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`. Column order; add later tasks with `add_task`.

    Returns:
        A `SharingResult`: each task's features before its head, and its
        feature maps (its column's activations after each lateral connection).
    """
    columns, feature_maps = [], {}
    for task in tasks:
        outputs, feature_maps[task.name] = add_column(features, trunk.blocks, task.name, columns)
        columns.append(outputs)
    return SharingResult(features={name: maps[-1] for name, maps in feature_maps.items()}, feature_maps=feature_maps)


def renamed_block(layer, old_prefix: str, new_prefix: str):
    """A fresh, trainable copy of `layer` (new weights) with names starting `old_prefix` renamed."""

    def rename(key, value):
        if isinstance(value, dict):
            return {item_key: rename(item_key, item) for item_key, item in value.items()}
        if isinstance(value, list):
            return [rename(None, item) for item in value]
        if key == "name" and isinstance(value, str) and value.startswith(old_prefix):
            return new_prefix + value[len(old_prefix):]
        return True if key == "trainable" else value

    return keras.saving.deserialize_keras_object(rename(None, keras.saving.serialize_keras_object(layer)))
