"""Task heads: the layers that turn a task's features into its output.

The head is the task kind's (`TaskKind.build_head`): sentence-level kinds
apply optional hidden Dense layers (`task.head_units`) and an output layer
whose width and activation come from the kind; the per-token kind applies
them to every token of the trunk's last token-level feature map; per-pixel
kinds decode the trunk's spatial feature maps back to the image resolution.
The output layer is named after the task, so `model.summary()` and the output
dict speak the same names.

Heads that tap intermediate stages get `feature_maps`: the outputs along the
task's own path through the network, shallow to deep, starting with the
trunk stem's output (see `mtl_zoo.sharing.result.SharingResult.feature_maps`).

Example:

>>> import keras
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.heads import build_head
>>> features = keras.Input((16,))
>>> build_head(Task("digit", "classification", 10), features).shape
(None, 10)
>>> tokens = keras.Input((5, 8))
>>> build_head(Task("tags", "tagging", 3), features, feature_maps=[tokens, features]).shape
(None, 5, 3)
"""

from __future__ import annotations

from mtl_zoo.kinds.base import FeatureMapError
from mtl_zoo.tasks import Task

__all__ = ["FeatureMapError", "build_head"]


def build_head(task: Task, features, feature_maps=None):
    """Applies a fresh head for `task` to `features` and returns its output.

    Args:
        task: `Task`. Its kind builds the head; supplies units, activation
            and hidden widths.
        features: Keras tensor. The task's final features, shape
            `(batch, ...)`; the sentence-level heads flatten spatial axes.
        feature_maps: list of Keras tensors or None. The task's intermediate
            stage outputs, shallow to deep; per-token and per-pixel kinds
            need them (or `features` of the right rank). Defaults to None.

    Returns:
        The task's output tensor, float32: `(batch, task.units)` for
        sentence-level and box kinds, `(batch, tokens, classes)` for
        tagging, `(batch, height, width, units)` for per-pixel kinds.

    Raises:
        FeatureMapError: the kind needs a feature map none of the given
            tensors is.
    """
    return task.kind_spec.build_head(task, features, None if feature_maps is None else list(feature_maps))
