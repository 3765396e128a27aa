"""Shared output: task-specific encoders feeding one shared final block and output layer.

The mirror image of hard sharing: each task has its own copy of the first
`private_depth` trunk blocks (its own encoder), and every task's encoding
goes through one shared copy of the remaining blocks and, by default, one
shared output layer. It fits tasks with the same output space that read
different parts or views of the input (the left and the right digit of an
image: each encoder learns where to look, the shared top learns what a digit
is), as in multi-domain learning with a shared classifier (Ruder, 2017,
section 4: https://arxiv.org/abs/1706.05098).

Layer names: encoder copies `{task}_block_{i}`, shared blocks
`shared_block_{i}` (blocks counted from 1), the shared output layer
`shared_head` (hidden layers `shared_head_dense_{i}` when the tasks have
`head_units`); each task's output is that layer's output passed through an
identity layer named after the task.

With `share_head: false` each task gets its own head, and a task's feature
maps are the outputs of the blocks on its path (its encoder, then the shared
blocks as they run on its encoding), so per-pixel and per-token heads work;
a shared output layer is a dense layer, so it refuses such tasks.

Options:
    private_depth: int or None. Number of leading task-specific blocks.
    share_head: bool. Whether the output layer is shared too.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.shared_output import shared_output
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("left", "classification", 3), Task("right", "classification", 3)]
>>> result = shared_output(keras.Input((5,)), trunk, tasks)
>>> sorted(result.compose({}))
['left', 'right']
"""

from __future__ import annotations

from typing import Optional

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, reports_feature_maps
from mtl_zoo.tasks.task import scale_target


def output_space(task) -> tuple:
    """What a shared output layer needs all tasks to agree on: kind, width and hidden widths."""
    return (task.kind, task.units, tuple(task.head_units))


def check_private_depth(private_depth, num_blocks: int, share_head: bool) -> None:
    """Raises `OptionError` unless `1 <= private_depth` and something is shared."""
    largest = num_blocks if share_head else num_blocks - 1
    if isinstance(private_depth, bool) or not isinstance(private_depth, int) or not 1 <= private_depth <= largest:
        shared = "the output layer" if share_head else "at least the last block (share_head is false)"
        raise OptionError(
            "private_depth",
            f"private_depth must be between 1 and {largest}: each task needs its own encoder "
            f"and the tasks must share {shared} (the trunk has {num_blocks} blocks). "
            f"Received: private_depth={private_depth!r}",
        )


def check_same_output_space(tasks) -> None:
    """Raises `OptionError("share_head", ...)` unless every task has the same output space."""
    spaces = {task.name: output_space(task) for task in tasks}
    if len(set(spaces.values())) > 1:
        described = ", ".join(
            f"{name} ({kind}, {units} units" + (f", head_units {list(hidden)})" if hidden else ")")
            for name, (kind, units, hidden) in spaces.items()
        )
        raise OptionError(
            "share_head",
            "A shared output layer needs tasks with the same output space (kind, width and "
            "head_units); set share_head: false to share only the last trunk blocks. "
            f"Received tasks: {described}",
        )


def check_sentence_level(tasks) -> None:
    """Raises `OptionError("share_head", ...)` if a task's head taps feature maps (per-pixel, per-token)."""
    mapped = [f"{task.name} ({task.kind})" for task in tasks if task.kind_spec.uses_feature_maps]
    if mapped:
        raise OptionError(
            "share_head",
            "A shared output layer is one dense layer, but tasks whose heads decode feature maps need their "
            "own head; set share_head: false (each task then decodes its own path's maps). "
            f"Received tasks: {', '.join(mapped)}",
        )


def _shared_head_layers(task) -> list:
    """The layers of one head for `task`'s output space, named `shared_head*`."""
    layers = [
        keras.layers.Dense(units, activation="relu", name=f"shared_head_dense_{index}")
        for index, units in enumerate(task.head_units, start=1)
    ]
    layers.append(
        keras.layers.Dense(task.units, activation=task.kind_spec.activation, dtype="float32", name="shared_head")
    )
    return layers


@SHARING_SCHEMES.register("shared_output")
@reports_feature_maps
def shared_output(features, trunk, tasks, private_depth: Optional[int] = None, share_head: bool = True):
    """Copies the first `private_depth` blocks per task; shares the rest (and the output layer).

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        private_depth: int or None. Number of leading blocks each task has
            its own copy of, from 1 to the trunk's number of blocks (minus
            one when `share_head` is false, so some block is shared).
            Defaults to None (all blocks but the last).
        share_head: bool. Share the output layer (and any hidden head
            layers) too; needs every task to have the same kind, width and
            `head_units`, and no task whose head decodes feature maps.
            Defaults to True.

    Returns:
        A `SharingResult` whose `compose` gives every task's output from the
        shared head when `share_head` is true; else each task's features and
        feature maps (the outputs of the blocks on its path), and each task
        gets its own head.
    """
    depth = max(trunk.num_blocks - 1, 1) if private_depth is None else private_depth
    check_private_depth(depth, trunk.num_blocks, share_head)
    if share_head:
        check_same_output_space(tasks)
        check_sentence_level(tasks)

    # === Layers ===
    shared_blocks = [trunk.blocks[index](f"shared_block_{index + 1}") for index in range(depth, trunk.num_blocks)]
    head = _shared_head_layers(tasks[0]) if share_head else []

    # === Wiring ===
    per_task, feature_maps = {}, {}
    for task in tasks:
        x, maps = features, []
        for index in range(depth):
            x = trunk.blocks[index](f"{task.name}_block_{index + 1}")(x)
            maps.append(x)
        for block in shared_blocks:
            x = block(x)
            maps.append(x)
        per_task[task.name] = x
        feature_maps[task.name] = maps
    if not share_head:
        return SharingResult(features=per_task, feature_maps=feature_maps)
    outputs = {}
    for task in tasks:
        x = per_task[task.name]
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name=f"{task.name}_head_flatten")(x)
        for layer in head:
            x = layer(x)
        outputs[task.name] = scale_target(task, keras.layers.Identity(dtype="float32", name=task.name)(x))
    return SharingResult(features={}, compose=lambda head_outputs: {**head_outputs, **outputs})
