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


def _renamed_block(layer, old_prefix: str, new_prefix: str):
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


def add_task(model, task, balancer=None):
    """Returns a new progressive model with one more column, for `task`, after the existing ones.

    The existing columns, lateral connections and heads are copies of
    `model`'s, with its trained weights, and are frozen (`trainable=False`):
    training the returned model updates only the new column, its lateral
    connections and its head, so the earlier tasks' outputs stay exactly as
    they were. `model` itself is not changed. The new column's blocks are
    fresh copies of the last column's blocks (same architecture, new
    weights).

    The returned model is not compiled: compile it (a new optimizer, whose
    state covers the new variables) before `fit`. Its labels need an entry
    for every task; write the earlier tasks' labels as missing (-1 or NaN)
    when the new data has none: their losses then add nothing, and they
    would not move any trainable weight anyway.

    Args:
        model: `MultiTaskModel` built with `sharing="progressive"`.
        task: `Task`. The new task; its name must be new.
        balancer: `Balancer`, str or None. Balancer of the new model.
            Defaults to None (a fresh copy of `model`'s balancer's config).

    Returns:
        An uncompiled `MultiTaskModel` with tasks `model.tasks + [task]`.

    Example:

    >>> from mtl_zoo import InputSpec, Task, build_model
    >>> from mtl_zoo.trunks.vision import vision_conv
    >>> inputs = {"image": InputSpec((8, 8, 1))}
    >>> model = build_model(inputs, vision_conv(inputs, filters=[4], dense_units=[8]),
    ...                     [Task("a", "binary")], sharing="progressive")
    >>> grown = add_task(model, Task("b", "binary"))
    >>> grown.compile(optimizer="adam")
    >>> sorted(layer.name for layer in grown.network.layers if layer.trainable_weights)
    ['b', 'b_block_1', 'b_block_2', 'b_lateral_1', 'b_lateral_2']
    """
    from mtl_zoo.tasks.task import build_head
    from mtl_zoo.models.multi_task_model import MultiTaskModel

    names = model.task_names
    if task.name in names or task.name in model.output_keys:
        raise ValueError(f"add_task needs a new task name; the model has {model.output_keys}. Received: {task.name!r}")
    network = model.network
    layer_names = {layer.name for layer in network.layers}
    num_blocks = 0
    while f"{names[0]}_block_{num_blocks + 1}" in layer_names:
        num_blocks += 1
    missing = [f"{name}_block_{index}" for name in names for index in range(1, num_blocks + 1)
               if f"{name}_block_{index}" not in layer_names]
    if not num_blocks or missing:
        raise ValueError(
            "add_task needs a model built with sharing='progressive' (one column of "
            f"`{{task}}_block_{{i}}` layers per task). Received: a network without layers {missing or [names[0] + '_block_1']}"
        )
    # === Copy of the trained network, frozen ===
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(network))
    copy.set_weights(network.get_weights())
    for layer in copy.layers:
        layer.trainable = False
    # === New column on the copy's graph ===
    earlier = [[copy.get_layer(f"{name}_block_{index}").output for index in range(1, num_blocks + 1)] for name in names]
    last = names[-1]
    blocks = [
        (lambda prefix, layer=copy.get_layer(f"{last}_block_{index}"), old=f"{last}_block_{index}":
         _renamed_block(layer, old, prefix))
        for index in range(1, num_blocks + 1)
    ]
    stem = copy.get_layer(f"{names[0]}_block_1").input
    _, maps = add_column(stem, blocks, task.name, earlier)
    outputs = {**copy.output, task.name: build_head(task, maps[-1], [stem, *maps])}
    grown = keras.Model(inputs=copy.input, outputs=outputs, name=network.name)
    if balancer is None:
        balancer = type(model.balancer).from_config(model.balancer.get_config())
    return MultiTaskModel(grown, list(model.tasks) + [task], balancer=balancer, name=model.name)
