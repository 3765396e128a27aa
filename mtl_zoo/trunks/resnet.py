"""`vision_resnet`: a small ResNet-style trunk, a stem convolution then residual stages.

Blocks, in order: a stem block (3x3 convolution, batch normalization, ReLU),
then one `ResidualStage` per entry of `filters`: `units_per_stage` basic
residual units (two 3x3 convolutions with batch normalization and an
identity or 1x1-projection shortcut; He et al., 2015,
https://arxiv.org/abs/1512.03385); every stage after the first halves the
spatial size in its first unit. Every block keeps a feature map (channels
last), so dense heads and attention schemes can tap each stage. Raw uint8
images are rescaled to [0, 1] in the stem (`mtl_zoo.trunks.vision.image_stem`).

Example:

>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.resnet import vision_resnet
>>> vision_resnet({"image": InputSpec((16, 16, 1), "uint8")}, filters=[8, 16]).num_blocks
3
"""

from __future__ import annotations

from typing import List, Optional

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.vision import check_resize_to, image_stem


@keras.saving.register_keras_serializable(package="mtl_zoo")
class ResidualStage(keras.layers.Layer):
    """`num_units` basic residual units; the first one may downsample and change channels.

    Unit: `relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))`, where the
    shortcut is the identity, or a strided 1x1 convolution with batch
    normalization when the shape changes.

    Args:
        filters: int. Output channels.
        num_units: int. Residual units in the stage. Defaults to 2.
        strides: int. Stride of the first unit (1 or 2). Defaults to 1.
        **kwargs: base layer arguments (`name`, ...).

    Example:

    >>> import numpy as np
    >>> stage = ResidualStage(4, num_units=1, strides=2, name="stage")
    >>> tuple(stage(np.zeros((1, 8, 8, 3), "float32")).shape)
    (1, 4, 4, 4)
    """

    def __init__(self, filters: int, num_units: int = 2, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.num_units, self.strides = int(filters), int(num_units), int(strides)
        prefix = self.name
        self.units = []
        for unit in range(self.num_units):
            stride = self.strides if unit == 0 else 1
            layers = {
                "conv_1": keras.layers.Conv2D(self.filters, 3, stride, "same", use_bias=False,
                                              name=f"{prefix}_unit_{unit + 1}_conv_1"),
                "norm_1": keras.layers.BatchNormalization(name=f"{prefix}_unit_{unit + 1}_batch_norm_1"),
                "conv_2": keras.layers.Conv2D(self.filters, 3, 1, "same", use_bias=False,
                                              name=f"{prefix}_unit_{unit + 1}_conv_2"),
                "norm_2": keras.layers.BatchNormalization(name=f"{prefix}_unit_{unit + 1}_batch_norm_2"),
            }
            self.units.append(layers)
        self.projection = keras.layers.Conv2D(self.filters, 1, self.strides, use_bias=False,
                                              name=f"{prefix}_shortcut_conv")
        self.projection_norm = keras.layers.BatchNormalization(name=f"{prefix}_shortcut_batch_norm")

    def _needs_projection(self, input_shape) -> bool:
        return self.strides != 1 or input_shape[-1] != self.filters

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self._needs_projection(shape):
            self.projection.build(shape)
            self.projection_norm.build(self.projection.compute_output_shape(shape))
        for unit, layers in enumerate(self.units):
            layers["conv_1"].build(shape)
            shape = layers["conv_1"].compute_output_shape(shape)
            layers["norm_1"].build(shape)
            layers["conv_2"].build(shape)
            layers["norm_2"].build(shape)

    def call(self, inputs, training=None):
        x = inputs
        for unit, layers in enumerate(self.units):
            if unit == 0 and self._needs_projection(inputs.shape):
                shortcut = self.projection_norm(self.projection(x), training=training)
            else:
                shortcut = x
            y = keras.ops.relu(layers["norm_1"](layers["conv_1"](x), training=training))
            y = layers["norm_2"](layers["conv_2"](y), training=training)
            x = keras.ops.relu(y + shortcut)
        return x

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if self.strides != 1:
            height = None if height is None else -(-height // self.strides)
            width = None if width is None else -(-width // self.strides)
        return (input_shape[0], height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "num_units": self.num_units,
                "strides": self.strides}


def _stem_block(filters: int):
    def make(prefix: str):
        return keras.Sequential([
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{prefix}_conv"),
            keras.layers.BatchNormalization(name=f"{prefix}_batch_norm"),
            keras.layers.Activation("relu", name=f"{prefix}_relu"),
        ], name=prefix)

    return make


def _stage_block(filters: int, num_units: int, strides: int):
    def make(prefix: str):
        return ResidualStage(filters, num_units, strides, name=prefix)

    return make


@TRUNKS.register("vision_resnet")
def vision_resnet(
    inputs: dict,
    filters: List[int] = (16, 32, 64),
    units_per_stage: int = 2,
    stem_filters: Optional[int] = None,
    resize_to: Optional[List[int]] = None,
) -> Trunk:
    """A ResNet-style trunk: a stem block, then one residual stage block per entry of `filters`.

    Args:
        inputs: dict. Input name -> `InputSpec`; exactly one image input of
            shape `(height, width, channels)`.
        filters: list of int. Channels of each residual stage; stages after
            the first halve the spatial size. Defaults to [16, 32, 64].
        units_per_stage: int. Residual units in each stage. Defaults to 2.
        stem_filters: int or None. Channels of the stem convolution.
            Defaults to None (the first stage's filters).
        resize_to: [height, width] or None. Resize images in the model
            before the stem. Defaults to None.

    Returns:
        A `Trunk` of `1 + len(filters)` blocks.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> vision_resnet({"image": InputSpec((16, 16, 1))}).num_blocks
    4
    """
    if len(inputs) != 1 or len(next(iter(inputs.values())).shape) != 3:
        raise ValueError(
            "vision_resnet takes one image input of shape (height, width, channels). "
            f"Received: inputs={ {name: spec.shape for name, spec in inputs.items()} }"
        )
    filters = list(filters)
    if not filters or any(isinstance(value, bool) or not isinstance(value, int) or value < 1 for value in filters):
        raise OptionError("filters", f"vision_resnet needs a non-empty list of positive integers. Received: filters={filters}")
    if isinstance(units_per_stage, bool) or not isinstance(units_per_stage, int) or units_per_stage < 1:
        raise OptionError(
            "units_per_stage", f"vision_resnet needs a positive integer units_per_stage. Received: units_per_stage={units_per_stage!r}"
        )
    if stem_filters is not None and (isinstance(stem_filters, bool) or not isinstance(stem_filters, int) or stem_filters < 1):
        raise OptionError("stem_filters", f"vision_resnet needs a positive integer stem_filters. Received: stem_filters={stem_filters!r}")
    resize_to = check_resize_to("vision_resnet", resize_to)
    blocks = [_stem_block(stem_filters or filters[0])]
    blocks += [_stage_block(value, units_per_stage, 1 if index == 0 else 2) for index, value in enumerate(filters)]
    name, spec = next(iter(inputs.items()))
    return Trunk(blocks=blocks, stem=image_stem(name, spec, resize_to))
