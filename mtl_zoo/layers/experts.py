"""Expert layers: a bank of dense experts, stacking expert outputs, mixing them by gate weights.

The mixture-of-experts schemes (`mmoe`, `cgc`, `ple`, `dselect_k`) wire
them (`mtl_zoo.sharing.experts`).
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops


# === Layers ===


@keras.saving.register_keras_serializable(package="mtl_zoo")
class DenseExperts(keras.layers.Layer):
    """`num_experts` dense MLPs computed at once from stacked kernels.

    Depth `d` holds a kernel `[num_experts, in_d, units[d]]` and a bias
    `[num_experts, units[d]]`. An input `[batch, in]` is fed to every expert
    (`einsum("bi,eio->beo")`); an input `[batch, num_experts, in]` gives each
    expert its own row (`einsum("bei,eio->beo")`). Both are computed without
    `einsum`, which is slower on CPU: experts of one depth on a shared input
    are one matmul with the kernels side by side (`[in, num_experts *
    units]`, fastest for wide inputs and many experts); deeper experts and
    expert rows are one 2-D matmul per expert on the unstacked kernels
    (fastest for small experts, e.g. recommendation towers of 64 and 32
    units). Each expert equals a stack
    of `keras.layers.Dense(units[d], activation)` with the same weights, and
    each kernel slice is initialized like `Dense` (Glorot uniform).

    Args:
        num_experts: int. Number of experts.
        units: list of int. Width of each depth of every expert.
        activation: str. Activation after every depth. Defaults to "relu".
        **kwargs: Keras layer arguments (`name`, `dtype`, ...).

    Output: `[batch, num_experts, units[-1]]`.
    """

    def __init__(self, num_experts: int, units: Sequence[int], activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.num_experts = int(num_experts)
        self.units = [int(width) for width in units]
        self.activation = activation
        self._activation = keras.activations.get(activation)

    def build(self, input_shape):
        width = input_shape[-1]
        self.kernels, self.biases = [], []
        for depth, units in enumerate(self.units, start=1):
            limit = math.sqrt(6.0 / (width + units))
            self.kernels.append(self.add_weight(
                shape=(self.num_experts, width, units), name=f"kernel_{depth}",
                initializer=keras.initializers.RandomUniform(-limit, limit),
            ))
            self.biases.append(
                self.add_weight(shape=(self.num_experts, units), name=f"bias_{depth}", initializer="zeros")
            )
            width = units

    def call(self, inputs):
        if len(inputs.shape) == 2 and len(self.kernels) == 1:
            # One depth on a shared input: one matmul with the kernels side by side.
            kernel, bias = self.kernels[0], self.biases[0]
            _, width, units = kernel.shape
            side_by_side = ops.reshape(ops.transpose(kernel, (1, 0, 2)), (width, self.num_experts * units))
            return self._activation(ops.reshape(ops.matmul(inputs, side_by_side), (-1, self.num_experts, units)) + bias)
        # Otherwise one 2-D matmul per expert and depth on the unstacked kernels: cheaper on CPU than
        # transposing rows to expert-major and a batched matmul (see benchmarks/recsys_throughput.py).
        rows = ops.unstack(inputs, axis=1) if len(inputs.shape) == 3 else [inputs] * self.num_experts
        for kernel, bias in zip(self.kernels, self.biases):
            rows = [
                self._activation(ops.matmul(row, expert_kernel) + expert_bias)
                for row, expert_kernel, expert_bias in zip(rows, ops.unstack(kernel), ops.unstack(bias))
            ]
        return ops.stack(rows, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_experts, self.units[-1])

    def get_config(self) -> dict:
        config = {"num_experts": self.num_experts, "units": self.units, "activation": self.activation}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="mtl_zoo")
class StackExperts(keras.layers.Layer):
    """Stacks a list of expert outputs `[batch, ...]` into `[batch, num_experts, ...]`."""

    def call(self, inputs):
        return ops.stack(list(inputs), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], len(input_shape)) + tuple(input_shape[0][1:])


@keras.saving.register_keras_serializable(package="mtl_zoo")
class MixExperts(keras.layers.Layer):
    """The gate-weighted sum of stacked experts: `Σ_e gates[:, e] · experts[:, e]`.

    Inputs: `[gates, experts]`, gates `[batch, num_experts]` and experts
    `[batch, num_experts, ...]`. Output: `[batch, ...]`.
    """

    def call(self, inputs):
        gates, experts = inputs
        gates = ops.cast(gates, experts.dtype)
        for _ in range(len(experts.shape) - 2):  # broadcast multiply-sum: faster than einsum for few experts
            gates = ops.expand_dims(gates, -1)
        return ops.sum(gates * experts, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[1][0],) + tuple(input_shape[1][2:])
