"""Cross-stitch networks: per-task columns mixed by learned units between blocks.

Every task gets its own copy of every trunk block, and after each block a
cross-stitch unit replaces the K columns' activations `x_1..x_K` by learned
linear combinations `x~_i = sum_j alpha[i, j] * x_j` (Misra et al. 2016,
https://arxiv.org/abs/1604.03539). The units sit after every block, so the
heads read mixed features, as the paper's task layers do after `fc7`.

Here the mixing is learned **per channel** (per unit for dense features):
`alpha` has shape `(K, K, C)` for a block with C channels, so each unit adds
`K * K * C` parameters; one matrix shared by all channels (the paper's
formulation) is the special case of equal channels. The units start near
identity: `alpha[i, i] = self_weight` and `alpha[i, j] = (1 - self_weight) /
(K - 1)` for `j != i`, so each row sums to 1. `self_weight=1` starts from
independent columns.

Task `t`'s blocks are named `{t}_block_{i}`, the units `cross_stitch_{i}`.
A task's feature maps are its column after each unit (what its next block
reads), shallow to deep.

Options:
    self_weight: float in (0, 1]. Initial weight of a column on itself.
        Defaults to 0.9 (the paper's initialization).

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.cross_stitch import cross_stitch
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = cross_stitch(keras.Input((3,)), trunk, tasks, self_weight=0.8)
>>> sorted(result.features), len(result.feature_maps["a"])
(['a', 'b'], 2)
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, reports_feature_maps


def near_identity(num_columns: int, num_channels: int, self_weight: float) -> np.ndarray:
    """The initial `(K, K, C)` mixing: `self_weight` on the diagonal, the rest spread evenly."""
    off = 0.0 if num_columns == 1 else (1.0 - self_weight) / (num_columns - 1)
    matrix = np.full((num_columns, num_columns), off)
    np.fill_diagonal(matrix, 1.0 if num_columns == 1 else self_weight)
    return np.repeat(matrix[:, :, None], num_channels, axis=2)


@keras.saving.register_keras_serializable(package="mtl_zoo")
class CrossStitch(keras.layers.Layer):
    """Mixes K same-shaped tensors per channel: `out_i = sum_j alpha[i, j] * x_j`.

    Takes a list of K tensors whose last axis is channels (or units) and
    returns a list of K tensors of the same shapes. `alpha` has shape
    `(K, K, C)`.

    Args:
        self_weight: float. Initial `alpha[i, i]`; off-diagonal entries
            start at `(1 - self_weight) / (K - 1)`. Defaults to 0.9.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, self_weight: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.self_weight = float(self_weight)

    def build(self, input_shape):
        shapes = [tuple(shape) for shape in input_shape]
        if len(set(shapes)) != 1:
            raise ValueError(f"CrossStitch mixes tensors of one shape. Received: shapes {shapes}")
        num_columns, num_channels = len(shapes), shapes[0][-1]
        initial = near_identity(num_columns, num_channels, self_weight=self.self_weight)
        self.alpha = self.add_weight(
            shape=initial.shape,
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(initial, dtype=dtype),
            name="alpha",
        )

    def call(self, inputs):
        alpha = ops.cast(self.alpha, inputs[0].dtype)
        return [
            sum(alpha[i, j] * inputs[j] for j in range(len(inputs)))
            for i in range(len(inputs))
        ]

    def compute_output_shape(self, input_shape):
        return [tuple(shape) for shape in input_shape]

    def get_config(self) -> dict:
        return {**super().get_config(), "self_weight": self.self_weight}


@SHARING_SCHEMES.register("cross_stitch")
@reports_feature_maps
def cross_stitch(features, trunk, tasks, self_weight: float = 0.9) -> SharingResult:
    """Per-task columns of every trunk block, mixed by a cross-stitch unit after each block.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        self_weight: float in (0, 1]. Initial weight of each column on
            itself in every unit. Defaults to 0.9.

    Returns:
        A `SharingResult`: each task's features before its head, and its
        feature maps (its column after every cross-stitch unit).
    """
    if isinstance(self_weight, bool) or not isinstance(self_weight, (int, float)) or not (
        math.isfinite(self_weight) and 0 < self_weight <= 1
    ):
        raise OptionError(
            "self_weight",
            "self_weight is a column's initial weight on itself, between 0 (excluded) and 1. "
            f"Received: self_weight={self_weight!r}",
        )
    columns = [features] * len(tasks)
    feature_maps = {task.name: [] for task in tasks}
    for index, block in enumerate(trunk.blocks, start=1):
        columns = [block(f"{task.name}_block_{index}")(x) for task, x in zip(tasks, columns)]
        columns = CrossStitch(self_weight, name=f"cross_stitch_{index}")(columns)
        for task, column in zip(tasks, columns):
            feature_maps[task.name].append(column)
    return SharingResult(features={task.name: column for task, column in zip(tasks, columns)}, feature_maps=feature_maps)
