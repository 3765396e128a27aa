"""`BoxIoU`: mean intersection over union of predicted and true boxes.

Boxes are `(y_min, x_min, y_max, x_max)`. A predicted box with
`y_max < y_min` (or `x_max < x_min`) has zero area. The IoU of each example
is averaged over the examples with a nonzero sample weight (observed boxes),
weighted by it; two boxes of zero area have IoU 0.

Example:

>>> import numpy as np
>>> metric = BoxIoU()
>>> metric.update_state(np.array([[0.0, 0.0, 0.5, 0.5]]), np.array([[0.0, 0.25, 0.5, 0.75]]))
>>> round(float(metric.result()), 4)  # overlap 0.125 over union 0.375
0.3333
"""

from __future__ import annotations

import keras
from keras import ops


def box_iou(y_true, y_pred):
    """Per-example IoU of `(..., 4)` boxes `(y_min, x_min, y_max, x_max)`."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")

    def area(boxes):
        return ops.maximum(boxes[..., 2] - boxes[..., 0], 0.0) * ops.maximum(boxes[..., 3] - boxes[..., 1], 0.0)

    height = ops.minimum(y_true[..., 2], y_pred[..., 2]) - ops.maximum(y_true[..., 0], y_pred[..., 0])
    width = ops.minimum(y_true[..., 3], y_pred[..., 3]) - ops.maximum(y_true[..., 1], y_pred[..., 1])
    intersection = ops.maximum(height, 0.0) * ops.maximum(width, 0.0)
    return ops.divide_no_nan(intersection, area(y_true) + area(y_pred) - intersection)


@keras.saving.register_keras_serializable(package="mtl_zoo")
class BoxIoU(keras.metrics.Mean):
    """Mean IoU of predicted vs true boxes over observed examples.

    Args:
        name: str. Metric name. Defaults to "iou".

    `update_state(y_true, y_pred, sample_weight)` takes `(batch, 4)` boxes
    and optional `(batch,)` weights (0 = missing box).
    """

    lower_is_better = False  # higher is better (read by Δm and the tuning objective)

    def __init__(self, name="iou", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(box_iou(y_true, y_pred), sample_weight=sample_weight)
