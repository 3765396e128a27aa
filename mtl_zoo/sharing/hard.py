"""Hard parameter sharing with a chosen sharing depth.

The first `shared_depth` blocks of the trunk form one shared column; the rest
are copied per task. `shared_depth=0` gives independent per-task networks,
`shared_depth=num_blocks` shares the whole trunk and only the heads are
task-specific (Caruana, 1997: https://doi.org/10.1023/A:1007379606734). With
`shared_depth >= 1` the last shared block's output is marked as the shared
representation (see `mark_shared_representation`), unless a task's head
taps intermediate feature maps (per-token and per-pixel kinds,
`TaskKind.uses_feature_maps`): its output is then not computed from that
tensor alone. Every task's feature maps (the outputs of the blocks on its
path) are reported in the `SharingResult`.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.hard import hard_sharing
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = hard_sharing(keras.Input((3,)), trunk, tasks, shared_depth=1)
>>> sorted(result.features), len(result.feature_maps["a"])
(['a', 'b'], 2)
"""

from __future__ import annotations

from typing import Optional

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, mark_shared_representation, reports_feature_maps


def check_depth(name: str, depth: int, num_blocks: int) -> None:
    """Raises unless `0 <= depth <= num_blocks`."""
    if not isinstance(depth, int) or not 0 <= depth <= num_blocks:
        raise OptionError(
            name,
            f"{name} must be between 0 and {num_blocks} (the trunk has {num_blocks} "
            f"blocks). Received: {name}={depth!r}"
        )


@SHARING_SCHEMES.register("hard")
@reports_feature_maps
def hard_sharing(features, trunk, tasks, shared_depth: Optional[int] = None) -> SharingResult:
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
        A `SharingResult`: each task's features before its head, and its
        feature maps (the output of every block on its path, shallow to deep;
        the shared blocks' outputs are the same tensors for every task).
    """
    depth = trunk.num_blocks if shared_depth is None else shared_depth
    check_depth("shared_depth", depth, trunk.num_blocks)
    shared = features
    shared_maps = []
    for index in range(depth):
        shared = trunk.blocks[index](f"shared_block_{index + 1}")(shared)
        shared_maps.append(shared)
    if depth > 0 and not any(task.kind_spec.uses_feature_maps for task in tasks):
        shared = mark_shared_representation(shared)
        shared_maps[-1] = shared
    per_task, feature_maps = {}, {}
    for task in tasks:
        x, maps = shared, list(shared_maps)
        for index in range(depth, trunk.num_blocks):
            x = trunk.blocks[index](f"{task.name}_block_{index + 1}")(x)
            maps.append(x)
        per_task[task.name] = x
        feature_maps[task.name] = maps
    return SharingResult(features=per_task, feature_maps=feature_maps)
