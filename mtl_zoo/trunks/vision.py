"""Vision trunks: convolution blocks followed by dense blocks.

Example:

>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.vision import vision_conv
>>> trunk = vision_conv({"image": InputSpec((12, 20, 1))}, filters=[8, 16], dense_units=[32])
>>> trunk.num_blocks
3
"""

from __future__ import annotations

from typing import List

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk


def _conv_block(filters: int, kernel_size: int, batch_norm: bool, pool: bool):
    def make(prefix: str):
        layers = [
            keras.layers.Conv2D(
                filters, kernel_size, padding="same", use_bias=not batch_norm, name=f"{prefix}_conv"
            )
        ]
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(name=f"{prefix}_batch_norm"))
        layers.append(keras.layers.Activation("relu", name=f"{prefix}_relu"))
        if pool:
            layers.append(keras.layers.MaxPooling2D(padding="same", name=f"{prefix}_pool"))
        return keras.Sequential(layers, name=prefix)

    return make


def _dense_block(units: int, dropout: float, flatten: bool):
    def make(prefix: str):
        layers = [keras.layers.Flatten(name=f"{prefix}_flatten")] if flatten else []
        layers.append(keras.layers.Dense(units, activation="relu", name=f"{prefix}_dense"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"{prefix}_dropout"))
        return keras.Sequential(layers, name=prefix)

    return make


@TRUNKS.register("vision_conv")
def vision_conv(
    inputs: dict,
    filters: List[int] = (32, 64),
    kernel_size: int = 3,
    dense_units: List[int] = (128,),
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> Trunk:
    """A small CNN: one block per conv layer (conv, ReLU, 2x2 max-pool), then dense blocks.

    Blocks, in order: `len(filters)` convolution blocks, then
    `len(dense_units)` dense blocks (the first one flattens). Sharing depth
    counts these blocks.

    Args:
        inputs: dict. Input name -> `InputSpec`; exactly one image input of
            shape `(height, width, channels)`.
        filters: list of int. Filters of each convolution block.
            Defaults to [32, 64].
        kernel_size: int. Convolution kernel size. Defaults to 3.
        dense_units: list of int. Units of each dense block. Defaults to [128].
        dropout: float. Dropout after each dense block. Defaults to 0.0.
        batch_norm: bool. Batch normalization in convolution blocks.
            Defaults to False.

    Returns:
        A `Trunk`.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> vision_conv({"image": InputSpec((28, 28, 1))}).num_blocks
    3
    """
    if len(inputs) != 1 or len(next(iter(inputs.values())).shape) != 3:
        raise ValueError(
            "vision_conv takes one image input of shape (height, width, channels). "
            f"Received: inputs={ {name: spec.shape for name, spec in inputs.items()} }"
        )
    if not filters and not dense_units:
        raise OptionError("filters", "vision_conv needs at least one block. Received: filters=[], dense_units=[]")
    for name, values in (("filters", filters), ("dense_units", dense_units)):
        if any(int(value) < 1 for value in values):
            raise OptionError(name, f"vision_conv needs positive {name}. Received: {name}={list(values)}")
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1:
        raise OptionError(
            "kernel_size", f"vision_conv needs a positive integer kernel_size. Received: kernel_size={kernel_size!r}"
        )
    if not 0.0 <= dropout < 1.0:
        raise OptionError("dropout", f"vision_conv needs 0 <= dropout < 1. Received: dropout={dropout}")
    blocks = [_conv_block(int(f), kernel_size, batch_norm, pool=True) for f in filters]
    blocks += [
        _dense_block(int(units), dropout, flatten=index == 0)
        for index, units in enumerate(dense_units)
    ]
    return Trunk(blocks=blocks)
