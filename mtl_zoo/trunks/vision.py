"""Vision trunks: convolution blocks followed by dense blocks, preprocessing in the model.

Image data sets feed raw uint8 pixels; every vision trunk's stem starts with
`image_stem`: a `Rescaling` layer (uint8 [0, 255] -> float [0, 1] by default)
and an optional `Resizing` layer, so a saved model takes the images a user has.

Example:

>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.vision import vision_conv
>>> trunk = vision_conv({"image": InputSpec((12, 20, 1))}, filters=[8, 16], dense_units=[32])
>>> trunk.num_blocks
3
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk


def takes_raw_pixels(spec) -> bool:
    """True when an image input holds raw pixels: uint8, or a stated value range of (0, 255)."""
    value_range = tuple(spec.value_range) if spec.value_range is not None else None
    return str(spec.dtype) == "uint8" or value_range == (0, 255)


def check_resize_to(trunk: str, resize_to) -> Optional[tuple]:
    """Returns `resize_to` as a `(height, width)` tuple, or raises `OptionError`."""
    if resize_to is None:
        return None
    if (
        not isinstance(resize_to, (list, tuple)) or len(resize_to) != 2
        or any(isinstance(size, bool) or not isinstance(size, int) or size < 1 for size in resize_to)
    ):
        raise OptionError(
            "resize_to", f"{trunk} needs resize_to as [height, width] of positive integers or null. "
            f"Received: resize_to={resize_to!r}"
        )
    return tuple(resize_to)


def image_stem(name: str, spec, resize_to: Optional[Sequence[int]] = None, scale=None, offset=0.0):
    """A stem that rescales (and optionally resizes) the image input `name` inside the model.

    Args:
        name: str. The image input's name.
        spec: `InputSpec`. The image input.
        resize_to: (height, width) or None. Resize the image (bilinear)
            before the blocks. Defaults to None (keep the input size).
        scale: float, list of floats or None. `Rescaling` scale; None means
            1/255 for raw pixels (see `takes_raw_pixels`) and no rescaling
            otherwise. Defaults to None.
        offset: float or list of floats. `Rescaling` offset. Defaults to 0.0.

    Returns:
        `stem(inputs)`: the float image the first block takes. The stem makes
        new (weightless) layers each time it is called, one set per network.

    Example:

    >>> import keras
    >>> from mtl_zoo.data.source import InputSpec
    >>> spec = InputSpec((4, 4, 1), dtype="uint8", value_range=(0, 255))
    >>> stem = image_stem("image", spec, resize_to=(8, 8))
    >>> tuple(stem({"image": keras.Input((4, 4, 1), dtype="uint8")}).shape)
    (None, 8, 8, 1)
    """
    if scale is None and takes_raw_pixels(spec):
        scale = 1.0 / 255.0

    def stem(inputs):
        x = inputs[name]
        if scale is not None or offset:
            x = keras.layers.Rescaling(
                scale if scale is not None else 1.0, offset, name=f"{name}_rescaling"
            )(x)
        elif x.dtype != "float32":
            x = keras.layers.Rescaling(1.0, name=f"{name}_rescaling")(x)  # a cast to the float dtype
        if resize_to is not None:
            x = keras.layers.Resizing(*resize_to, name=f"{name}_resizing")(x)
        return x

    return stem


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
    resize_to: Optional[List[int]] = None,
) -> Trunk:
    """A small CNN: one block per conv layer (conv, ReLU, 2x2 max-pool), then dense blocks.

    The stem rescales raw uint8 pixels to [0, 1] inside the model (and
    resizes when asked; see `image_stem`); float inputs pass unscaled.
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
        resize_to: [height, width] or None. Resize images in the model
            before the first block. Defaults to None.

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
    resize_to = check_resize_to("vision_conv", resize_to)
    blocks = [_conv_block(int(f), kernel_size, batch_norm, pool=True) for f in filters]
    blocks += [
        _dense_block(int(units), dropout, flatten=index == 0)
        for index, units in enumerate(dense_units)
    ]
    name, spec = next(iter(inputs.items()))
    return Trunk(blocks=blocks, stem=image_stem(name, spec, resize_to))
