"""Growing a trained model: `add_task` adds a task to a progressive network as a new column.

The trained columns are frozen copies; the new column takes lateral
connections from them (`mtl_zoo.sharing.progressive`), and the result is a
new `MultiTaskModel` with the old tasks and the new one.
"""

from __future__ import annotations

import keras

from mtl_zoo.sharing.progressive import renamed_block, add_column


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
         renamed_block(layer, old, prefix))
        for index in range(1, num_blocks + 1)
    ]
    stem = copy.get_layer(f"{names[0]}_block_1").input
    _, maps = add_column(stem, blocks, task.name, earlier)
    outputs = {**copy.output, task.name: build_head(task, maps[-1], [stem, *maps])}
    grown = keras.Model(inputs=copy.input, outputs=outputs, name=network.name)
    if balancer is None:
        balancer = type(model.balancer).from_config(model.balancer.get_config())
    return MultiTaskModel(grown, list(model.tasks) + [task], balancer=balancer, name=model.name)
