"""`Trunk`: a feature extractor cut into blocks, so sharing is a wiring choice.

A trunk is a stem (turns the input dict into one tensor) and an ordered list of
block factories. A block factory takes a name prefix and returns a *fresh*
Keras layer, so a sharing scheme can make one shared instance of a block or one
copy per task, and hard sharing depth is just an integer.

Example:

>>> import keras
>>> from mtl_zoo.trunks.base import Trunk
>>> trunk = Trunk(blocks=[lambda prefix: keras.layers.Dense(8, name=f"{prefix}_dense")])
>>> trunk.num_blocks
1
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

BlockFactory = Callable[[str], "object"]


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
    """A stem plus an ordered list of block factories.

    Args:
        blocks: list of callables. `block(prefix)` returns a new Keras layer
            whose sublayers are named `f"{prefix}_..."`.
        stem: callable or None. `stem(inputs)` maps the dict of Keras inputs
            to one tensor. Defaults to taking the only input.
    """

    blocks: Sequence[BlockFactory]
    stem: Optional[Callable] = None

    def __post_init__(self):
        if not self.blocks:
            raise ValueError("A trunk needs at least one block. Received: blocks=[]")
        if self.stem is None:
            self.stem = single_input_stem

    @property
    def num_blocks(self) -> int:
        """Number of blocks in the trunk."""
        return len(self.blocks)
