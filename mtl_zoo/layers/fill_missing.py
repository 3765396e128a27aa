"""`FillMissing`: a numeric column with NaN replaced and a missing-value indicator beside it.

`MissingIndicator` gives the indicators alone (for a column whose filled values are embedded first).
"""

from __future__ import annotations

import keras
from keras import ops


# === Layers ===


@keras.saving.register_keras_serializable(package="mtl_zoo")
class FillMissing(keras.layers.Layer):
    """Replaces NaN by 0 and, optionally, appends a 0/1 indicator per value that was NaN.

    Args:
        indicators: bool. Append the missing-value indicators. Defaults to True.
        **kwargs: Keras layer arguments (`name`, ...).

    Input `[batch, width]`; output `[batch, width]`, or `[batch, 2 * width]`
    with indicators (values first).

    Example:

    >>> import numpy as np
    >>> FillMissing()(np.array([[1.5, np.nan]], "float32")).numpy().tolist()
    [[1.5, 0.0, 0.0, 1.0]]
    """

    def __init__(self, indicators: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.indicators = bool(indicators)

    def call(self, inputs):
        missing = ops.isnan(inputs)
        filled = ops.where(missing, ops.zeros_like(inputs), inputs)
        if not self.indicators:
            return filled
        return ops.concatenate([filled, ops.cast(missing, filled.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        if not self.indicators or input_shape[-1] is None:
            return input_shape
        return tuple(input_shape[:-1]) + (2 * input_shape[-1],)

    def get_config(self) -> dict:
        return {**super().get_config(), "indicators": self.indicators}


@keras.saving.register_keras_serializable(package="mtl_zoo")
class MissingIndicator(keras.layers.Layer):
    """A 0/1 indicator per value that was NaN (the indicators `FillMissing` appends, alone).

    Input `[batch, width]`; output `[batch, width]`.

    Example:

    >>> import numpy as np
    >>> MissingIndicator()(np.array([[1.5, np.nan]], "float32")).numpy().tolist()
    [[0.0, 1.0]]
    """

    def call(self, inputs):
        return ops.cast(ops.isnan(inputs), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
