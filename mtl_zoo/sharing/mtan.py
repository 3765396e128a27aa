"""Multi-task attention network (MTAN): one shared column, per-task attention over its blocks.

The trunk's blocks form one shared column; each task reads it through its own
soft-attention modules, one per block (Liu et al. CVPR 2019,
https://arxiv.org/abs/1803.10704). At block `i`, task `t` computes a mask in
(0, 1) from the block's shared output `s_i` and its own attended features of
the block before, and keeps `a_i = mask * s_i`:

    mask_i = sigmoid(W2 relu(W1 [s_i, align(a_{i-1})] + b1) + b2)

`W1`, `W2` act on the channel axis (1x1 convolutions on feature maps, dense
layers on vectors); the first block's mask reads `s_1` alone. `align` brings
the previous attended features to `s_i`'s layout: unchanged when the spatial
sizes match, resized (bilinear, which is 2x2 average pooling for a halving)
between feature maps, averaged over the spatial axes when `s_i` is a vector.
The task's features are its attended output of the last block; its feature
maps (for per-pixel and per-token heads) are its attended outputs of every
block, shallow to deep.

This follows the paper with opaque blocks: the paper reads the mask from a
block's intermediate features and passes the previous attended features
through a 3x3 convolution; here both use the block's output, so any trunk
whose blocks keep channels last works, convolutional or dense.

Task `t`'s modules are named `{t}_attention_{i}_dense`, `{t}_attention_{i}_mask`
(the sigmoid mask) and `{t}_attention_{i}` (the attended features); shared
blocks `shared_block_{i}`.

Options:
    attention_units: int or None. Width of each module's hidden layer.
        Defaults to None (the block's channels).

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.mtan import mtan
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = mtan(keras.Input((3,)), trunk, tasks)
>>> sorted(result.features), result.features["a"].shape, len(result.feature_maps["a"])
(['a', 'b'], (None, 4), 2)
"""

from __future__ import annotations

from typing import Optional

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, reports_feature_maps

_GLOBAL_POOLING = {
    3: keras.layers.GlobalAveragePooling1D,
    4: keras.layers.GlobalAveragePooling2D,
    5: keras.layers.GlobalAveragePooling3D,
}


def align(previous, shared, prefix: str):
    """Brings `previous` (the last block's attended features) to the layout of `shared`."""
    if tuple(previous.shape[1:-1]) == tuple(shared.shape[1:-1]):
        return previous
    if len(shared.shape) == 2 and len(previous.shape) in _GLOBAL_POOLING:
        return _GLOBAL_POOLING[len(previous.shape)](name=f"{prefix}_pool")(previous)
    height, width = shared.shape[1:3] if len(shared.shape) == 4 else (None, None)
    if len(shared.shape) == 4 and len(previous.shape) == 4 and height and width:
        return keras.layers.Resizing(height, width, interpolation="bilinear", name=f"{prefix}_resize")(previous)
    raise ValueError(
        "mtan attends over blocks whose outputs are feature maps (batch, height, width, "
        "channels) or vectors (batch, units), a vector block coming after map blocks; it "
        f"cannot bring a block output of shape {tuple(previous.shape)} to the next block's "
        f"shape {tuple(shared.shape)}"
    )


def attend(shared, previous, prefix: str, units: Optional[int]):
    """Returns `mask * shared`, the mask read from `shared` and the previous attended features."""
    inputs = shared
    if previous is not None:
        aligned = align(previous, shared, prefix)
        inputs = keras.layers.Concatenate(name=f"{prefix}_concat")([shared, aligned])
    channels = shared.shape[-1]
    hidden = keras.layers.Dense(units or channels, activation="relu", name=f"{prefix}_dense")(inputs)
    mask = keras.layers.Dense(channels, activation="sigmoid", name=f"{prefix}_mask")(hidden)
    return keras.layers.Multiply(name=prefix)([mask, shared])


@SHARING_SCHEMES.register("mtan")
@reports_feature_maps
def mtan(features, trunk, tasks, attention_units: Optional[int] = None) -> SharingResult:
    """A shared column of every trunk block, read by per-task attention modules.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        attention_units: int or None. Hidden width of every attention
            module. Defaults to None (the attended block's channels).

    Returns:
        A `SharingResult`: each task's attended features of the last block,
        and its attended features of every block as its feature maps.
    """
    if attention_units is not None and (
        isinstance(attention_units, bool) or not isinstance(attention_units, int) or attention_units < 1
    ):
        raise OptionError(
            "attention_units",
            "attention_units must be a positive integer or None (the block's channels). "
            f"Received: attention_units={attention_units!r}",
        )
    shared = []
    x = features
    for index, block in enumerate(trunk.blocks, start=1):
        x = block(f"shared_block_{index}")(x)
        shared.append(x)
    per_task, feature_maps = {}, {}
    for task in tasks:
        attended, maps = None, []
        for index, block_output in enumerate(shared, start=1):
            attended = attend(block_output, attended, f"{task.name}_attention_{index}", attention_units)
            maps.append(attended)
        per_task[task.name] = attended
        feature_maps[task.name] = maps
    return SharingResult(features=per_task, feature_maps=feature_maps)
