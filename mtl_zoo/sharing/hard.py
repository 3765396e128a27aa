"""Hard parameter sharing with a chosen sharing depth.

The first `shared_depth` blocks of the trunk form one shared column; the rest
are copied per task. `shared_depth=0` gives independent per-task networks,
`shared_depth=num_blocks` shares the whole trunk and only the heads are
task-specific (Caruana, 1997: https://doi.org/10.1023/A:1007379606734). With
`shared_depth >= 1` the last shared block's output is marked as the shared
representation (see `mark_shared_representation`).

Example:

>>> import keras
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.hard import hard_sharing
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> features = hard_sharing(keras.Input((3,)), trunk, tasks, shared_depth=1)
>>> sorted(features)
['a', 'b']
"""

from __future__ import annotations

from typing import Optional

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import mark_shared_representation


def check_depth(name: str, depth: int, num_blocks: int) -> None:
    """Raises unless `0 <= depth <= num_blocks`."""
    if not isinstance(depth, int) or not 0 <= depth <= num_blocks:
        raise OptionError(
            name,
            f"{name} must be between 0 and {num_blocks} (the trunk has {num_blocks} "
            f"blocks). Received: {name}={depth!r}"
        )


@SHARING_SCHEMES.register("hard")
def hard_sharing(features, trunk, tasks, shared_depth: Optional[int] = None) -> dict:
    """Shares the first `shared_depth` trunk blocks; copies the rest per task.

    Shared blocks are named `shared_block_{i}`; task copies
    `{task}_block_{i}` (blocks are counted from 1).

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        shared_depth: int or None. Number of leading blocks shared by all
            tasks, from 0 (nothing shared) to the trunk's number of blocks.
            Defaults to None (the whole trunk is shared).

    Returns:
        Dict task name -> the task's features before its head.
    """
    depth = trunk.num_blocks if shared_depth is None else shared_depth
    check_depth("shared_depth", depth, trunk.num_blocks)
    shared = features
    for index in range(depth):
        shared = trunk.blocks[index](f"shared_block_{index + 1}")(shared)
    if depth > 0:
        shared = mark_shared_representation(shared)
    per_task = {}
    for task in tasks:
        x = shared
        for index in range(depth, trunk.num_blocks):
            x = trunk.blocks[index](f"{task.name}_block_{index + 1}")(x)
        per_task[task.name] = x
    return per_task
