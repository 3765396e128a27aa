"""The DCN-v2 cross network: explicit feature crosses, as one trunk block.

Each cross layer multiplies the block's input `x_0` element-wise with a full
linear map of the previous layer's output, and adds that output back:
`x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l` (Wang et al., "DCN V2", WWW 2021:
https://arxiv.org/abs/2008.13535). With `L` layers the block holds every
feature cross up to degree `L + 1`; its output has the input's width.

Example:

>>> import numpy as np
>>> from mtl_zoo.trunks.cross import CrossNetwork
>>> layer = CrossNetwork(num_layers=2)
>>> tuple(layer(np.ones((3, 5), "float32")).shape)
(3, 5)
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtl_zoo")
class CrossNetwork(keras.layers.Layer):
    """`num_layers` DCN-v2 cross layers, `x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l`.

    Kernels are `[width, width]` (Glorot uniform), biases `[width]` (zeros).

    Args:
        num_layers: int. Number of cross layers.
        **kwargs: Keras layer arguments (`name`, ...).

    Input and output `[batch, width]`.

    Example:

    >>> import numpy as np
    >>> layer = CrossNetwork(num_layers=2)
    >>> _ = layer(np.ones((1, 4), "float32"))
    >>> layer.count_params()  # two 4 x 4 kernels and two biases
    40
    """

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = int(num_layers)

    def build(self, input_shape):
        width = input_shape[-1]
        self.kernels = [
            self.add_weight(shape=(width, width), name=f"kernel_{index}", initializer="glorot_uniform")
            for index in range(1, self.num_layers + 1)
        ]
        self.biases = [
            self.add_weight(shape=(width,), name=f"bias_{index}", initializer="zeros")
            for index in range(1, self.num_layers + 1)
        ]

    def call(self, inputs):
        x = inputs
        for kernel, bias in zip(self.kernels, self.biases):
            x = inputs * (ops.matmul(x, kernel) + bias) + x
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "num_layers": self.num_layers}


def cross_block(num_layers: int):
    """A block factory: `factory(prefix)` returns a fresh `CrossNetwork` named `f"{prefix}_cross"`."""

    def make(prefix: str):
        return CrossNetwork(num_layers, name=f"{prefix}_cross")

    return make
