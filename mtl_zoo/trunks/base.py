"""`Trunk`: a feature extractor cut into blocks, so sharing is a wiring choice.

A trunk is a stem (turns the input dict into one tensor) and an ordered list of
block factories. A block factory takes a name prefix and returns a *fresh*
Keras layer, so a sharing scheme can make one shared instance of a block or one
copy per task, and hard sharing depth is just an integer.

A trunk may also own preprocessing layers in its stem (`Normalization`,
`StringLookup`, `TextVectorization`, ...) whose state is learned from data:
its `adaptation` step sees the training split's features once, through
`Trunk.adapt`, before the model is built. The adapted layers are part of the
model, so a saved model takes raw values; vocabularies are kept in the layer
configs (`mtl_zoo.layers.lookups`), so they survive saving whatever the values.

Example:

>>> import keras
>>> from mtl_zoo.trunks.base import Trunk
>>> trunk = Trunk(blocks=[lambda prefix: keras.layers.Dense(8, name=f"{prefix}_dense")])
>>> trunk.num_blocks, trunk.needs_adaptation
(1, False)
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

BlockFactory = Callable[[str], "object"]

ADAPTATION_BATCH_SIZE = 1024


def single_input_stem(inputs: dict):
    """Returns the only input of `inputs`, or raises if there are several."""
    if len(inputs) != 1:
        raise ValueError(
            "This trunk takes exactly one input; use a trunk with a stem that merges "
            f"inputs. Received: inputs={sorted(inputs)}"
        )
    return next(iter(inputs.values()))


@dataclasses.dataclass
class Trunk:
    """A stem plus an ordered list of block factories, with an optional adaptation step.

    Args:
        blocks: list of callables. `block(prefix)` returns a new Keras layer
            whose sublayers are named `f"{prefix}_..."`.
        stem: callable or None. `stem(inputs)` maps the dict of Keras inputs
            to one tensor. Defaults to taking the only input.
        adaptation: callable or None. `adaptation(batches)` adapts the
            preprocessing layers the stem uses, from a batched
            `tf.data.Dataset` of feature dicts (input name -> values of a
            batch of examples). Defaults to None (nothing to learn from data).

    Example:

    >>> import keras, tensorflow as tf
    >>> normalization = keras.layers.Normalization(name="x_normalization")
    >>> trunk = Trunk(blocks=[lambda prefix: keras.layers.Dense(4, name=f"{prefix}_dense")],
    ...               stem=lambda inputs: normalization(inputs["x"]),
    ...               adaptation=lambda batches: normalization.adapt(batches.map(lambda f: f["x"])))
    >>> trunk.needs_adaptation
    True
    >>> features = tf.data.Dataset.from_tensor_slices({"x": [[1.0], [3.0]]})
    >>> trunk.adapt(features).needs_adaptation
    False
    >>> normalization.mean.numpy().tolist()
    [[2.0]]
    """

    blocks: Sequence[BlockFactory]
    stem: Optional[Callable] = None
    adaptation: Optional[Callable] = None
    adapted: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self):
        if not self.blocks:
            raise ValueError("A trunk needs at least one block. Received: blocks=[]")
        if self.stem is None:
            self.stem = single_input_stem

    @property
    def num_blocks(self) -> int:
        """Number of blocks in the trunk."""
        return len(self.blocks)

    @property
    def needs_adaptation(self) -> bool:
        """True when the trunk has an adaptation step that has not run yet."""
        return self.adaptation is not None and not self.adapted

    def adapt(self, features, batch_size: int = ADAPTATION_BATCH_SIZE) -> "Trunk":
        """Adapts the stem's preprocessing layers on training features; call before building.

        Use the training split only: what the layers learn here (means,
        vocabularies, IDF weights) is frozen into the model. Adapt once,
        before building: networks built from the trunk share its adapted
        layers, so adapting again would change them too. A trunk without an
        adaptation step ignores the call.

        Args:
            features: `tf.data.Dataset`. **Unbatched** feature dicts, one
                example each (input name -> value), e.g.
                `source.load_split("train").map(lambda features, labels: features)`.
            batch_size: int. Examples per batch handed to the adaptation step.
                Defaults to 1024.

        Returns:
            The trunk, adapted.

        Example:

        >>> trunk.adapt(train_features)  # doctest: +SKIP
        """
        import tensorflow as tf

        if self.adaptation is None:
            return self
        if not isinstance(features, tf.data.Dataset) or not isinstance(features.element_spec, dict):
            spec = getattr(features, "element_spec", type(features).__name__)
            raise ValueError(
                "Trunk.adapt takes an unbatched tf.data.Dataset of feature dicts; map "
                "(features, labels) pairs with `.map(lambda features, labels: features)`. "
                f"Received: {spec}"
            )
        self.adaptation(features.batch(batch_size))
        self.adapted = True
        return self
