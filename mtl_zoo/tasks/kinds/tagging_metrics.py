"""`EntityF1`: entity-level F1 over IOB2 tags, computed in the graph.

An entity is a maximal run of tokens of one type that starts with "B-<type>"
(or with "I-<type>" after a token of another type or "O", as conlleval reads
it) and continues with "I-<type>". A predicted entity counts as correct only
if a true entity has exactly the same first token, last token and type.
True positives, true entities and predicted entities are summed over the
whole data set (micro average), and F1 = 2·TP / (true + predicted), 0 when
there are no entities at all.

Tokens whose label is missing or padding (sample weight 0) are read as "O"
in both the labels and the predictions, so padding never makes or breaks an
entity. Everything is tensor arithmetic over the fixed token axis (no Python
loops, no assertions), so the metric runs under `jit_compile=True` and sums
its counts across replicas under `tf.distribute`.

Example:

>>> import numpy as np
>>> metric = EntityF1(["O", "B-PER", "I-PER"])
>>> labels = np.array([[1, 2, 0, 1]])
>>> predictions = np.eye(3)[[[1, 2, 0, 0]]]
>>> metric.update_state(labels, predictions)
>>> round(float(metric.result()), 4)  # 1 of 2 true entities found, 1 predicted
0.6667
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np
from keras import ops


def iob2_entity_types(class_names) -> Optional[tuple]:
    """Per tag: `(entity type or None, is_inside)`, or None if a name is not an IOB2 tag.

    Args:
        class_names: sequence of str. "O" or "B-<type>" / "I-<type>".

    Example:

    >>> iob2_entity_types(["O", "B-PER", "I-PER"])
    ((None, False), ('PER', False), ('PER', True))
    >>> iob2_entity_types(["NOUN", "VERB"]) is None
    True
    """
    parsed = []
    for name in class_names:
        if name == "O":
            parsed.append((None, False))
        elif len(name) > 2 and name[:2] in ("B-", "I-"):
            parsed.append((name[2:], name[0] == "I"))
        else:
            return None
    return tuple(parsed)


def _entity_starts(types, inside):
    """`(starts, continues)`: boolean `(batch, tokens)` tensors of entity starts and continuations."""
    previous = ops.concatenate([ops.full_like(types[:, :1], -1), types[:, :-1]], axis=1)
    continues = ops.logical_and(ops.logical_and(inside, ops.equal(types, previous)), ops.greater_equal(types, 0))
    starts = ops.logical_and(ops.greater_equal(types, 0), ops.logical_not(continues))
    return starts, continues


@keras.saving.register_keras_serializable(package="mtl_zoo")
class EntityF1(keras.metrics.Metric):
    """Micro entity-level F1 over IOB2 tags (exact span and type), ignoring padding.

    Args:
        class_names: list of str. The tag of each class index: "O",
            "B-<type>" or "I-<type>".
        name: str. Metric name. Defaults to "entity_f1".

    `update_state(y_true, y_pred, sample_weight)` takes tag indices
    `(batch, tokens)`, tag scores `(batch, tokens, classes)` (the predicted
    tag is the arg max) and an optional `(batch, tokens)` weight whose zeros
    mark padding or missing tags.
    """

    lower_is_better = False  # higher is better (read by Δm and the tuning objective)

    def __init__(self, class_names, name="entity_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        parsed = iob2_entity_types(class_names)
        if parsed is None:
            raise ValueError(f"EntityF1 needs IOB2 tag names ('O', 'B-<type>', 'I-<type>'). "
                             f"Received: class_names={list(class_names)!r}")
        self.class_names = list(class_names)
        types = sorted({entity for entity, _ in parsed if entity is not None})
        self._tag_types = np.array([-1 if entity is None else types.index(entity) for entity, _ in parsed], "int32")
        self._tag_inside = np.array([inside for _, inside in parsed], "bool")
        self.true_positives = self.add_variable((), initializer="zeros", name="true_positives", aggregation="sum")
        self.true_entities = self.add_variable((), initializer="zeros", name="true_entities", aggregation="sum")
        self.predicted_entities = self.add_variable((), initializer="zeros", name="predicted_entities",
                                                    aggregation="sum")

    def _read(self, tags, observed):
        tags = ops.clip(tags, 0, len(self.class_names) - 1)
        types = ops.where(observed, ops.take(ops.convert_to_tensor(self._tag_types), tags), -1)
        inside = ops.logical_and(observed, ops.take(ops.convert_to_tensor(self._tag_inside), tags))
        return types, inside

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        observed = (ops.ones_like(y_true, dtype="bool") if sample_weight is None
                    else ops.greater(ops.reshape(ops.cast(sample_weight, "float32"), ops.shape(y_true)), 0.0))
        observed = ops.logical_and(observed, ops.greater_equal(y_true, 0))
        true_types, true_inside = self._read(y_true, observed)
        pred_types, pred_inside = self._read(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), observed)
        true_starts, true_continues = _entity_starts(true_types, true_inside)
        pred_starts, pred_continues = _entity_starts(pred_types, pred_inside)
        in_true = ops.greater_equal(true_types, 0)
        # A token of a true entity disagrees unless the prediction has its type and starts where it starts.
        agrees = ops.logical_and(ops.equal(true_types, pred_types), ops.equal(true_starts, pred_starts))
        bad = ops.cast(ops.logical_and(in_true, ops.logical_not(agrees)), "float32")
        bad_through = ops.cumsum(bad, axis=1)
        bad_before = bad_through - bad
        # For every token: the disagreements before the start of the true entity it is in (the latest
        # start at or before it, found as a max over a lower-triangular token x token mask).
        num_tokens = ops.shape(y_true)[1]
        positions = ops.arange(num_tokens)
        earlier = ops.less_equal(positions[None, :], positions[:, None])
        at_starts = ops.where(ops.logical_and(earlier[None], true_starts[:, None, :]), bad_before[:, None, :], 0.0)
        bad_before_start = ops.max(at_starts, axis=2)
        no_more = ops.zeros_like(true_continues[:, :1])
        true_ends = ops.logical_and(in_true, ops.logical_not(
            ops.concatenate([true_continues[:, 1:], no_more], axis=1)))
        pred_goes_on = ops.concatenate([pred_continues[:, 1:], no_more], axis=1)
        matched = ops.logical_and(ops.logical_and(true_ends, ops.equal(bad_through, bad_before_start)),
                                  ops.logical_not(pred_goes_on))
        self.true_positives.assign_add(ops.sum(ops.cast(matched, "float32")))
        self.true_entities.assign_add(ops.sum(ops.cast(true_starts, "float32")))
        self.predicted_entities.assign_add(ops.sum(ops.cast(pred_starts, "float32")))

    def result(self):
        return ops.divide_no_nan(2.0 * self.true_positives, self.true_entities + self.predicted_entities)

    def get_config(self):
        return {**super().get_config(), "class_names": self.class_names}
