"""Progressive layered extraction (PLE): stacked CGC levels.

`num_levels` CGC levels are stacked: at each level every task has its own
experts and a gate over them and the shared experts, as in `cgc`; below the
last level a shared gate also mixes *all* experts of the level into the
input of the next level's shared experts, while each task's mixture feeds
its own experts of the next level (Tang et al., RecSys 2020:
https://doi.org/10.1145/3383313.3412236).

Experts of every level are dense MLPs of widths `expert_units`, or, when it
is not given, copies of one trunk block per level: the last `num_levels`
blocks of the trunk (so for images the lower levels can be convolution
blocks). Layer names end in `_level_{l}` (from 1).

Gate weights: the output `{task}_gate_weights` is the task's gate of the
**last** level (its own experts first, then the shared ones), the one that
forms the task's features; inner levels' gates are the layers
`{task}_gate_level_{l}` and `shared_gate_level_{l}`.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.ple import ple
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = ple(keras.Input((3,)), trunk, tasks, num_levels=2)
>>> tuple(result.features["a"].shape), tuple(result.extra_outputs["b_gate_weights"].shape)
((None, 4), (None, 3))
"""

from __future__ import annotations

from typing import List, Optional

from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.cgc import check_expert_counts, extraction_level
from mtl_zoo.sharing.experts import check_count, check_expert_units, gate_weight_outputs, shared_bottom
from mtl_zoo.sharing.result import SharingResult


@SHARING_SCHEMES.register("ple")
def ple(
    features,
    trunk,
    tasks,
    num_levels: int = 2,
    num_shared_experts: int = 2,
    num_task_experts: int = 1,
    expert_units: Optional[List[int]] = None,
    shared_depth: Optional[int] = None,
) -> SharingResult:
    """Stacks `num_levels` CGC levels, with shared gates between levels (PLE).

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        num_levels: int. Number of stacked levels. Defaults to 2.
        num_shared_experts: int. Shared experts per level. Defaults to 2.
        num_task_experts: int. Experts of each task per level. Defaults to 1.
        expert_units: list of int or None. Widths of each dense expert (the
            same at every level). Defaults to None (level `l`'s experts copy
            one trunk block: the last `num_levels` blocks, in order).
        shared_depth: int or None. Trunk blocks below the first level.
            Defaults to None (the whole trunk for dense experts; for block
            experts it must be the trunk's blocks minus `num_levels`).

    Returns:
        A `SharingResult`: each task's last-level mixture, and the outputs
        `{task}_gate_weights` of the last level, shape
        `[batch, num_task_experts + num_shared_experts]`.
    """
    check_count("num_levels", num_levels)
    check_expert_counts(num_shared_experts, num_task_experts)
    expert_units = check_expert_units(expert_units)
    shared, depth = shared_bottom(features, trunk, shared_depth, expert_units, num_levels=num_levels)
    per_task = {task.name: shared for task in tasks}
    for level in range(1, num_levels + 1):
        per_task, shared, gates = extraction_level(
            per_task, shared, num_shared_experts, num_task_experts,
            suffix=f"_level_{level}", shared_output=level < num_levels and num_shared_experts > 0,
            trunk=trunk, blocks=[depth + level - 1], expert_units=expert_units,
        )
    return SharingResult(features=per_task, extra_outputs=gate_weight_outputs(gates))
