"""Soft parameter sharing: one column per task, tied by an L2 penalty.

Every task gets its own copy of every trunk block (as with `hard` at
`shared_depth=0`), and the training objective gains
`tie_weight * sum_{i<j} ||theta_i - theta_j||^2`, summed over corresponding
trainable weights of the task columns (Duong et al. 2015,
https://aclanthology.org/P15-2139/; the scheme "soft parameter sharing" of
Ruder 2017, https://arxiv.org/abs/1706.05098). `tie_weight=0` gives
independent columns; a large `tie_weight` drives the columns towards one
shared column.

All columns live in one layer, `SoftTiedColumns`, named `soft_tie_loss`: the
penalty reads only that layer's own weights, so it serializes with the
model, and `MultiTaskModel` logs the weighted penalty as `soft_tie_loss`.
Task `t`'s blocks are named `{t}_block_{i}` inside it, and each column stays
private to its task in `model.variable_tasks` (the penalty is a loss term,
not a path to another task's output). The layer returns every block's
output of every column, so each task's feature maps are its own column's
block outputs.

Options:
    tie_weight: float >= 0. The penalty's weight. Defaults to 1e-3.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.soft import soft_sharing
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = soft_sharing(keras.Input((3,)), trunk, tasks, tie_weight=0.1)
>>> sorted(result.features), len(result.feature_maps["a"])
(['a', 'b'], 2)
"""

from __future__ import annotations

import math

import keras
from keras import ops

from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, reports_feature_maps


@keras.saving.register_keras_serializable(package="mtl_zoo")
class SoftTiedColumns(AuxiliaryLoss):
    """Applies K columns of blocks to one input; adds the L2 tie between columns.

    Returns the list of the K columns' outputs (or, with `return_stages`,
    of every block's output: column 0's blocks in order, then column 1's, and
    so on). The term is
    `sum_{i<j} sum_w ||w_i - w_j||^2` over the columns' trainable weights,
    matched by position (each column is built from the same block factories,
    so its weights come in the same order and shapes).

    Args:
        columns: list of lists of Keras layers (or their serialized
            configs). `columns[k]` is the k-th column, its blocks in order.
        weight: float. The penalty's weight (`tie_weight`). Defaults to 1.0.
        return_stages: bool. Return the output of every block of every
            column, column by column, instead of the last block's output of
            each. Defaults to False.
        **kwargs: Keras layer arguments; `name` is the log key.
    """

    def __init__(self, columns, weight: float = 1.0, return_stages: bool = False, **kwargs):
        super().__init__(weight=weight, **kwargs)
        self.return_stages = bool(return_stages)
        lengths = {len(column) for column in columns}
        if not columns or len(lengths) != 1 or 0 in lengths:
            raise ValueError(
                "SoftTiedColumns needs one or more columns with the same, nonzero number of "
                f"blocks. Received: column lengths {[len(column) for column in columns]}"
            )
        self.num_columns = len(columns)
        # One flat list, so Keras tracks and saves every block's weights.
        self.blocks = [
            block if isinstance(block, keras.layers.Layer) else keras.saving.deserialize_keras_object(block)
            for column in columns
            for block in column
        ]

    @property
    def columns(self) -> list:
        """The blocks as a list of columns."""
        depth = len(self.blocks) // self.num_columns
        return [self.blocks[k * depth : (k + 1) * depth] for k in range(self.num_columns)]

    def build(self, input_shape):
        for column in self.columns:
            shape = input_shape
            for block in column:
                if not block.built:
                    block.build(shape)
                shape = block.compute_output_shape(shape)
        reference = [tuple(w.shape) for w in self.column_weights()[0]]
        for index, weights in enumerate(self.column_weights()):
            if [tuple(w.shape) for w in weights] != reference:
                raise ValueError(
                    "Soft sharing ties corresponding weights, so every column needs the same "
                    f"weight shapes. Column 0 has {reference}; column {index} has "
                    f"{[tuple(w.shape) for w in weights]}"
                )
        self.built = True

    def column_weights(self) -> list:
        """List (one per column) of that column's trainable weights, in block order."""
        return [[w for block in column for w in block.trainable_weights] for column in self.columns]

    def compute_term(self, inputs=None):
        weights = self.column_weights()
        terms = [
            ops.sum(ops.square(ops.cast(a, "float32") - ops.cast(b, "float32")))
            for i in range(len(weights))
            for j in range(i + 1, len(weights))
            for a, b in zip(weights[i], weights[j])
        ]
        return ops.sum(ops.stack(terms)) if terms else ops.zeros((), "float32")

    def _outputs(self, inputs, apply) -> list:
        """The returned list: `apply(block, x)` down each column, every stage or the last one."""
        outputs = []
        for column in self.columns:
            x = inputs
            for block in column:
                x = apply(block, x)
                if self.return_stages:
                    outputs.append(x)
            if not self.return_stages:
                outputs.append(x)
        return outputs

    def call(self, inputs):
        outputs = self._outputs(inputs, lambda block, x: block(x))
        self.add_term(self.weight * self.compute_term())
        return outputs

    def compute_output_spec(self, inputs):
        return self._outputs(inputs, lambda block, x: block.compute_output_spec(x))

    def compute_output_shape(self, input_shape):
        return [spec.shape for spec in self.compute_output_spec(keras.KerasTensor(input_shape))]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "columns": [[keras.saving.serialize_keras_object(block) for block in column] for column in self.columns],
            "return_stages": self.return_stages,
        }


@SHARING_SCHEMES.register("soft")
@reports_feature_maps
def soft_sharing(features, trunk, tasks, tie_weight: float = 1e-3) -> SharingResult:
    """One column of every trunk block per task, tied by an L2 penalty of weight `tie_weight`.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        tie_weight: float. Weight of `sum_{i<j} ||theta_i - theta_j||^2`
            in the objective, >= 0. Defaults to 1e-3.

    Returns:
        A `SharingResult`: each task's features before its head, and its
        feature maps (the outputs of its own column's blocks).
    """
    if isinstance(tie_weight, bool) or not isinstance(tie_weight, (int, float)) or not (
        math.isfinite(tie_weight) and tie_weight >= 0
    ):
        raise OptionError(
            "tie_weight", f"tie_weight must be a finite number >= 0. Received: tie_weight={tie_weight!r}"
        )
    columns = [
        [block(f"{task.name}_block_{index}") for index, block in enumerate(trunk.blocks, start=1)]
        for task in tasks
    ]
    stages = SoftTiedColumns(columns, weight=tie_weight, return_stages=True, name="soft_tie_loss")(features)
    depth = trunk.num_blocks
    feature_maps = {task.name: stages[k * depth : (k + 1) * depth] for k, task in enumerate(tasks)}
    return SharingResult(features={name: maps[-1] for name, maps in feature_maps.items()}, feature_maps=feature_maps)
