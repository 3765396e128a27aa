"""`AbsRel`: mean absolute relative error, the standard depth-estimation metric.

abs_rel = mean over observed pixels with a positive label of
|prediction - label| / label. Pixels whose label is 0 or negative (where the
ratio is undefined) are left out, as depth benchmarks leave out pixels
without depth.

Example:

>>> import numpy as np
>>> metric = AbsRel()
>>> metric.update_state(np.array([[2.0], [4.0], [0.0]]), np.array([[3.0], [3.0], [1.0]]))
>>> float(metric.result())  # (0.5 + 0.25) / 2; the 0 label is left out
0.375
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtl_zoo")
class AbsRel(keras.metrics.Mean):
    """Mean |prediction - label| / label over observed entries with a positive label.

    Args:
        name: str. Metric name. Defaults to "abs_rel".

    `update_state(y_true, y_pred, sample_weight)` takes tensors of one
    shape; zero weights mark missing entries.
    """

    lower_is_better = True  # lower is better (read by Δm and the tuning objective)

    def __init__(self, name="abs_rel", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.reshape(ops.cast(y_pred, "float32"), ops.shape(y_true))
        positive = ops.cast(ops.greater(y_true, 0.0), "float32")
        weight = positive if sample_weight is None else positive * ops.reshape(
            ops.cast(sample_weight, "float32"), ops.shape(y_true))
        ratio = ops.divide_no_nan(ops.abs(y_pred - y_true), ops.where(positive > 0, y_true, ops.ones_like(y_true)))
        return super().update_state(ratio, sample_weight=weight)
