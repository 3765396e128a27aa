"""The `segmentation` kind: one class per pixel (semantic segmentation).

Labels are int32 class indices `(batch, height, width)`; -1 marks an
unlabelled pixel, left out of the loss and the metrics. The head is the
per-pixel decoder (`mtl_zoo.tasks.kinds.decoder`) with a softmax over `classes`;
the output is `(batch, height, width, classes)`, at the image resolution
unless the task sets `output_size`.

Metrics: "mean_iou" (`keras.metrics.MeanIoU`: per-class IoU from the
confusion matrix summed over the data set, averaged over the classes that
occur in the labels or predictions) and "pixel_accuracy" (or "accuracy"),
both over labelled pixels.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> Task("digit_mask", "segmentation", classes=11).metrics
('mean_iou', 'pixel_accuracy')
"""

from __future__ import annotations

import dataclasses

from mtl_zoo.tasks.kinds.classification import PositionClassKind
from mtl_zoo.registry import TASK_KINDS


@dataclasses.dataclass(frozen=True)
class SegmentationKind(PositionClassKind):
    """Per-pixel classification through a decoder over the trunk's stages."""

    def check_task(self, task) -> None:
        pass  # takes output_size

    def build_head(self, task, features, feature_maps=None):
        from mtl_zoo.tasks.kinds.decoder import build_decoder

        return build_decoder(task, features, feature_maps, self.activation)

    def make_metric(self, task, metric: str, name: str):
        import keras

        if metric == "mean_iou":
            # float32 confusion matrix: fractional sample weights count as given
            return keras.metrics.MeanIoU(num_classes=task.units, sparse_y_true=True, sparse_y_pred=False,
                                         name=name, dtype="float32")
        if metric == "pixel_accuracy":
            return keras.metrics.SparseCategoricalAccuracy(name=name)
        return super().make_metric(task, metric, name)


SEGMENTATION = TASK_KINDS.register("segmentation", SegmentationKind(
    "segmentation",
    "One class per pixel; labels are (batch, height, width) class indices (-1 = unlabelled).",
    activation="softmax",
    default_loss="sparse_categorical_crossentropy",
    default_metrics=("mean_iou", "pixel_accuracy"),
    losses=("sparse_categorical_crossentropy",),
    metrics=("mean_iou", "pixel_accuracy", "accuracy", "sparse_categorical_accuracy"),
    label_dtype="int32",
    missing_value="-1",
    elementwise=False,
    label_rule="class_index",
    minimum_classes=2,
    own_metrics=("mean_iou", "pixel_accuracy"),
    label_classes=True,
    uses_feature_maps=True,
))
