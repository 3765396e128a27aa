"""Shared middle blocks: task-specific first blocks, a shared middle, task-specific last blocks.

Each task gets its own copy of the first `shared_from` trunk blocks (its own
low-level features, e.g. its own input domain), all tasks then run through
one shared copy of blocks `shared_from .. shared_to - 1`, and each task gets
its own copy of the remaining blocks before its head. This is the
"task-specific input and output layers around a shared core" layout of
multi-domain and multi-task networks (Ruder, 2017, section 4:
https://arxiv.org/abs/1706.05098).

Blocks are counted like hard sharing's `shared_depth`: `shared_from` and
`shared_to` are block *boundaries* from 0 to the trunk's number of blocks,
so the shared blocks are the Python slice `trunk.blocks[shared_from:shared_to]`
(named `shared_block_{i}` with `i` from `shared_from + 1` to `shared_to`),
and `shared_middle(shared_from=0, shared_to=k)` is `hard(shared_depth=k)`.
As there, the shared output is marked as the shared representation only when
no task's head taps intermediate feature maps. A task's feature maps are the
outputs of the blocks on its path: its own first blocks, the shared middle
as it runs on its input, its own last blocks.

Options:
    shared_from: int. Number of leading task-specific blocks.
    shared_to: int. Block boundary where the shared part ends.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.shared_middle import shared_middle
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 3)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = shared_middle(keras.Input((3,)), trunk, tasks, shared_from=1, shared_to=2)
>>> sorted(result.features), len(result.feature_maps["a"])
(['a', 'b'], 3)
"""

from __future__ import annotations

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, mark_shared_representation, reports_feature_maps
from mtl_zoo.sharing.hard import check_depth


def check_middle(shared_from: int, shared_to: int, num_blocks: int) -> None:
    """Raises `OptionError` unless `0 <= shared_from < shared_to <= num_blocks`."""
    check_depth("shared_from", shared_from, num_blocks)
    check_depth("shared_to", shared_to, num_blocks)
    if shared_to <= shared_from:
        raise OptionError(
            "shared_to",
            "shared_middle shares blocks shared_from .. shared_to - 1, so it needs "
            "shared_to > shared_from (use hard sharing with shared_depth=0 for independent "
            f"columns). Received: shared_from={shared_from}, shared_to={shared_to}",
        )


@SHARING_SCHEMES.register("shared_middle")
@reports_feature_maps
def shared_middle(features, trunk, tasks, shared_from: int, shared_to: int) -> SharingResult:
    """Task-specific blocks before `shared_from` and from `shared_to` on; shared in between.

    Task copies are named `{task}_block_{i}`, shared blocks
    `shared_block_{i}` (blocks are counted from 1 in names).

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        shared_from: int. Block boundary (0 to the trunk's number of blocks)
            where sharing starts: the first `shared_from` blocks are copied
            per task.
        shared_to: int. Block boundary where sharing ends, greater than
            `shared_from`: blocks `shared_to` and later are copied per task.

    Returns:
        A `SharingResult`: each task's features before its head, and its
        feature maps (the output of every block on its path).
    """
    check_middle(shared_from, shared_to, trunk.num_blocks)

    def column(task_name, x, start, stop):
        outputs = []
        for index in range(start, stop):
            x = trunk.blocks[index](f"{task_name}_block_{index + 1}")(x)
            outputs.append(x)
        return outputs

    # === Task-specific first blocks, one shared middle, task-specific last blocks ===
    first = {task.name: column(task.name, features, 0, shared_from) for task in tasks}
    middle = [trunk.blocks[index](f"shared_block_{index + 1}") for index in range(shared_from, shared_to)]
    mark = shared_from == 0 and not any(task.kind_spec.uses_feature_maps for task in tasks)
    middle_outputs = {}  # one pass through the middle per distinct input (one when shared_from=0)
    feature_maps = {}
    for task in tasks:
        x = first[task.name][-1] if first[task.name] else features
        if id(x) not in middle_outputs:
            outputs = []
            for block in middle:
                outputs.append(block(outputs[-1] if outputs else x))
            if mark:  # hard sharing: every task reads this one tensor
                outputs[-1] = mark_shared_representation(outputs[-1])
            middle_outputs[id(x)] = outputs
        maps = first[task.name] + middle_outputs[id(x)]
        feature_maps[task.name] = maps + column(task.name, maps[-1], shared_to, trunk.num_blocks)
    return SharingResult(features={name: maps[-1] for name, maps in feature_maps.items()}, feature_maps=feature_maps)
