"""The `tagging` kind: one class per token of a padded sequence (POS, chunks, named entities).

Labels are int32 tag indices of shape `(batch, tokens)`; -1 marks padding or
a missing tag, and is left out of the loss and the metrics. The head applies
`task.head_units` ReLU Dense layers and a softmax over `classes` to every
token of the trunk's last token-level feature map: the last rank-3 tensor
`(batch, tokens, dim)` among the task's feature maps (for the `text` trunk,
the last encoder block's output, before pooling), so one text trunk serves
sentence-level and tagging tasks at once. The output is
`(batch, tokens, classes)`.

Metrics: "accuracy" (token accuracy over observed tokens) and "entity_f1"
(entity-level F1 over IOB2 tags: exact span and type match, micro-averaged
over the data set; see `mtl_zoo.tasks.kinds.tagging_metrics.EntityF1`). Entity F1
reads the entities off `class_names` ("O", "B-PER", "I-PER", ...), so a task
that names it must have them; a task with IOB2 `class_names` gets both
metrics by default.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> Task("ner", "tagging", classes=3, class_names=["O", "B-PER", "I-PER"]).metrics
('accuracy', 'entity_f1')
>>> Task("pos", "tagging", classes=12).metrics
('accuracy',)
"""

from __future__ import annotations

import dataclasses

from mtl_zoo.errors import OptionError
from mtl_zoo.tasks.kinds.base import FeatureMapError
from mtl_zoo.tasks.kinds.classification import PositionClassKind
from mtl_zoo.tasks.kinds.tagging_metrics import iob2_entity_types
from mtl_zoo.registry import TASK_KINDS


def last_map_of_rank(rank: int, features, feature_maps):
    """The deepest tensor of the given rank among `feature_maps` (or `features`), or None."""
    for tensor in reversed(list(feature_maps) if feature_maps is not None else [features]):
        if len(tensor.shape) == rank:
            return tensor
    return None


@dataclasses.dataclass(frozen=True)
class TaggingKind(PositionClassKind):
    """Per-token classification: a Dense head on every token, masked loss, token accuracy and entity F1."""

    def default_metrics_for(self, task) -> tuple:
        if task.class_names is not None and iob2_entity_types(task.class_names) is not None:
            return ("accuracy", "entity_f1")
        return self.default_metrics

    def check_task(self, task) -> None:
        super().check_task(task)
        if "entity_f1" in task.metrics and (task.class_names is None
                                            or iob2_entity_types(task.class_names) is None):
            raise OptionError(
                "class_names",
                f"Task '{task.name}' names metric entity_f1, which reads entities off IOB2 tag names; give "
                f"class_names such as ['O', 'B-PER', 'I-PER', ...]. Received: class_names={task.class_names!r}",
            )

    def build_head(self, task, features, feature_maps=None):
        import keras

        tokens = last_map_of_rank(3, features, feature_maps)
        if tokens is None:
            shapes = [tuple(tensor.shape) for tensor in (feature_maps or [features])]
            raise FeatureMapError(
                f"Task '{task.name}' of kind 'tagging' needs a token-level feature map (batch, tokens, dim); "
                f"its features have shapes {shapes}."
            )
        x = tokens
        for index, units in enumerate(task.head_units, start=1):
            x = keras.layers.Dense(units, activation="relu", name=f"{task.name}_head_dense_{index}")(x)
        return keras.layers.Dense(task.units, activation=self.activation, dtype="float32", name=task.name)(x)

    def make_metric(self, task, metric: str, name: str):
        if metric == "entity_f1":
            from mtl_zoo.tasks.kinds.tagging_metrics import EntityF1

            return EntityF1(list(task.class_names), name=name)
        return super().make_metric(task, metric, name)


TAGGING = TASK_KINDS.register("tagging", TaggingKind(
    "tagging",
    "One class per token; labels are (batch, tokens) tag indices (-1 = padding or missing).",
    activation="softmax",
    default_loss="sparse_categorical_crossentropy",
    default_metrics=("accuracy",),
    losses=("sparse_categorical_crossentropy",),
    metrics=("accuracy", "entity_f1", "sparse_categorical_accuracy", "sparse_categorical_crossentropy"),
    label_dtype="int32",
    missing_value="-1",
    elementwise=False,
    label_rule="class_index",
    minimum_classes=2,
    own_metrics=("entity_f1",),
    label_classes=True,
    uses_feature_maps=True,
))
