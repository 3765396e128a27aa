"""Feature alignment: pull two tasks' representations together, with any sharing scheme.

An extra term in the objective, `weight * mean_x ||f_s(x) - P f_t(x)||^2`,
between the features `f_s` of a source task and `f_t` of a target task (the
features a sharing scheme hands to their heads, flattened). When the widths
differ, `P` is a learned linear projection from the target's width to the
source's; otherwise `P` is the identity. Both features and `P` get gradients
from the term, so the two representations move towards each other (as in
feature-level knowledge transfer between tasks, e.g. Romero et al. 2015,
https://arxiv.org/abs/1412.6550, where a learned regressor matches widths).

The term is computed by a `FeatureAlignmentLoss` layer placed on both
features (it passes them through unchanged) and named
`{source}_{target}_alignment_loss`, which is the key `fit` logs it under.

`align_features(features, pairs, weight)` applies it to a scheme's features
dict; `apply_feature_alignment(features, option)` reads the recipe form
`{"tasks": [source, target], "weight": w}` (or a list of them).

Note: a learned `P` only feeds the loss term, so no task *output* depends
on it and `mtl_zoo.models.sharing_map` maps it to no task.

Example:

>>> import keras
>>> from mtl_zoo.sharing.alignment import align_features
>>> features = {"a": keras.Input((4,)), "b": keras.Input((6,))}
>>> aligned = align_features(features, [("a", "b")], weight=0.1)
>>> sorted(aligned), aligned["b"].shape
(['a', 'b'], (None, 6))
"""

from __future__ import annotations

import math

import keras
from keras import ops

from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss
from mtl_zoo.errors import OptionError


def _width(shape) -> int:
    if any(size is None for size in shape[1:]):
        raise ValueError(f"Feature alignment needs features of known size. Received: shape {tuple(shape)}")
    return math.prod(shape[1:])


@keras.saving.register_keras_serializable(package="mtl_zoo")
class FeatureAlignmentLoss(AuxiliaryLoss):
    """Adds `weight * mean_x ||f_s(x) - P f_t(x)||^2` for inputs `[f_s, f_t]`; passes them through.

    Features are flattened per example. `P` (weight `projection`, shape
    `(target width, source width)`) exists only when the widths differ.

    Args:
        weight: float. The term's weight. Defaults to 1.0.
        **kwargs: Keras layer arguments; `name` is the log key.
    """

    def build(self, input_shape):
        source, target = input_shape
        source_width, target_width = _width(source), _width(target)
        self.projection = None
        if source_width != target_width:
            self.projection = self.add_weight(
                shape=(target_width, source_width), initializer="glorot_uniform", name="projection"
            )
        self.built = True

    def compute_term(self, inputs):
        source, target = (ops.cast(ops.reshape(x, (ops.shape(x)[0], -1)), "float32") for x in inputs)
        if self.projection is not None:
            target = ops.matmul(target, ops.cast(self.projection, "float32"))
        return ops.mean(ops.sum(ops.square(source - target), axis=-1))


def align_features(features: dict, pairs, weight: float = 1.0) -> dict:
    """Returns `features` with an alignment term between each `(source, target)` pair.

    Args:
        features: dict. Name -> features (e.g. a sharing scheme's result).
        pairs: list of `(source, target)` names of `features`.
        weight: float >= 0. Weight of every pair's term. Defaults to 1.0.

    Returns:
        A new dict: the same features, those of aligned pairs now read
        through their `FeatureAlignmentLoss` layer.
    """
    aligned = dict(features)
    for source, target in pairs:
        layer = FeatureAlignmentLoss(weight=weight, name=f"{source}_{target}_alignment_loss")
        aligned[source], aligned[target] = layer([aligned[source], aligned[target]])
    return aligned


def apply_feature_alignment(features: dict, option) -> dict:
    """Applies the recipe option `{"tasks": [source, target], "weight": w}` (or a list of them).

    Args:
        features: dict. Task name -> features.
        option: dict, list of dicts, or None (nothing to align).

    Returns:
        The features, aligned as the option says.

    Raises:
        OptionError: naming `feature_alignment`, for an ill-formed option.
    """
    if option is None:
        return features
    entries = option if isinstance(option, (list, tuple)) else [option]
    for entry in entries:
        tasks, weight = _check_entry(entry, sorted(features))
        features = align_features(features, [tuple(tasks)], weight)
    return features


def _check_entry(entry, names) -> tuple:
    def fail(message):
        raise OptionError("feature_alignment", f"{message}. Received: feature_alignment={entry!r}")

    if not isinstance(entry, dict) or set(entry) - {"tasks", "weight"} or "tasks" not in entry:
        fail('feature_alignment is {"tasks": [source, target], "weight": w} (weight defaults to 1.0)')
    tasks, weight = entry["tasks"], entry.get("weight", 1.0)
    if not isinstance(tasks, (list, tuple)) or len(tasks) != 2 or tasks[0] == tasks[1] or not set(tasks) <= set(names):
        fail(f"feature_alignment tasks must be two different tasks of {names}")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight) and weight >= 0):
        fail("feature_alignment weight must be a finite number >= 0")
    return list(tasks), float(weight)
