"""The `mlp` trunk: a numeric vector, normalized inside the model, then dense blocks.

`mlp_block` is the dense block every non-image trunk uses (`features` too).

Example:

>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.mlp import mlp
>>> trunk = mlp({"dense_features": InputSpec((13,))}, units=[32, 16])
>>> trunk.num_blocks, trunk.needs_adaptation
(2, True)
"""

from __future__ import annotations

from typing import List

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.columns import NumericColumn


def mlp_block(units: int, dropout: float = 0.0, batch_norm: bool = False):
    """A block factory: Dense -> (BatchNormalization) -> ReLU -> (Dropout), named after the prefix.

    Args:
        units: int. Width of the dense layer.
        dropout: float. Dropout rate after the activation; 0 adds no layer.
            Defaults to 0.0.
        batch_norm: bool. Batch normalization before the activation (the
            dense layer then has no bias). Defaults to False.

    Returns:
        `factory(prefix)`, which returns a fresh `keras.Sequential` named `prefix`.
    """

    def make(prefix: str):
        if batch_norm:
            layers = [
                keras.layers.Dense(units, use_bias=False, name=f"{prefix}_dense"),
                keras.layers.BatchNormalization(name=f"{prefix}_batch_norm"),
                keras.layers.Activation("relu", name=f"{prefix}_relu"),
            ]
        else:
            layers = [keras.layers.Dense(units, activation="relu", name=f"{prefix}_dense")]
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"{prefix}_dropout"))
        return keras.Sequential(layers, name=prefix)

    return make


def check_mlp_options(trunk: str, units, dropout: float, allow_no_units: bool = False) -> None:
    """Raises `OptionError` for non-positive units or a dropout outside [0, 1)."""
    if not units and not allow_no_units:
        raise OptionError("units", f"{trunk} needs at least one dense block. Received: units=[]")
    if any(isinstance(value, bool) or not isinstance(value, int) or value < 1 for value in units):
        raise OptionError("units", f"{trunk} needs positive integer units. Received: units={list(units)}")
    if not 0.0 <= dropout < 1.0:
        raise OptionError("dropout", f"{trunk} needs 0 <= dropout < 1. Received: dropout={dropout}")


@TRUNKS.register("mlp")
def mlp(
    inputs: dict,
    units: List[int] = (64, 32),
    dropout: float = 0.0,
    batch_norm: bool = False,
    normalize: bool = True,
) -> Trunk:
    """A numeric vector through `Normalization` (adapted on the training split), then dense blocks.

    Blocks: one `mlp_block` per entry of `units`; sharing depth counts them.
    A NaN in the input becomes 0 after normalization (the training mean);
    the normalization statistics come from the training rows whose values
    are all finite. The saved model takes the raw vector.

    Args:
        inputs: dict. Input name -> `InputSpec`; exactly one float input of
            shape `(width,)` (feature_type None or "numeric").
        units: list of int. Width of each dense block. Defaults to [64, 32].
        dropout: float. Dropout after each dense block. Defaults to 0.0.
        batch_norm: bool. Batch normalization in each dense block.
            Defaults to False.
        normalize: bool. Normalize the input with the training split's mean
            and variance (the trunk then needs `adapt`). Defaults to True.

    Returns:
        A `Trunk`.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> mlp({"dense_features": InputSpec((13,))}, normalize=False).needs_adaptation
    False
    """
    specs = {name: (spec.shape, spec.dtype, spec.feature_type) for name, spec in inputs.items()}
    if (
        len(inputs) != 1
        or any(len(spec.shape) != 1 or not str(spec.dtype).startswith("float") for spec in inputs.values())
        or any(spec.feature_type not in (None, "numeric") for spec in inputs.values())
    ):
        raise ValueError(
            "mlp takes one numeric vector input of shape (width,) and a float dtype; use the 'features' "
            f"trunk for several columns. Received: inputs={specs}"
        )
    check_mlp_options("mlp", units, dropout)
    name, spec = next(iter(inputs.items()))
    column = NumericColumn(name, spec, normalize=normalize, indicators=False)
    return Trunk(
        blocks=[mlp_block(units_of_block, dropout, batch_norm) for units_of_block in units],
        stem=lambda keras_inputs: column(keras_inputs[name]),
        adaptation=column.adapt if normalize else None,
    )
