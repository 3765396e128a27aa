"""Multi-gate mixture of experts (MMoE).

All tasks share `num_experts` experts; each task mixes them with its own
softmax gate, `h_t(x) = Σ_e g_t(x)_e · f_e(x)` with `g_t(x) = softmax(W_t x)`
(Ma et al., KDD 2018: https://doi.org/10.1145/3219819.3220007). Experts sit on
the trunk's shared bottom: dense MLPs of widths `expert_units` (computed
together, see `mtl_zoo.sharing.experts`) or copies of the trunk's last
blocks. Each task's gate weights are an output `{task}_gate_weights` (no
loss); `mtl_zoo.sharing.expert_usage` averages them over a data set.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.mmoe import mmoe
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = mmoe(keras.Input((3,)), trunk, tasks, num_experts=3, expert_units=[5])
>>> sorted(result.extra_outputs), tuple(result.features["a"].shape)
(['a_gate_weights', 'b_gate_weights'], (None, 5))
"""

from __future__ import annotations

from typing import List, Optional

from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.layers.experts import MixExperts
from mtl_zoo.sharing.experts import (
    build_experts,
    check_count,
    check_expert_units,
    gate_weight_outputs,
    shared_bottom,
    softmax_gate,
)
from mtl_zoo.sharing.result import SharingResult


@SHARING_SCHEMES.register("mmoe")
def mmoe(
    features,
    trunk,
    tasks,
    num_experts: int = 4,
    expert_units: Optional[List[int]] = None,
    shared_depth: Optional[int] = None,
) -> SharingResult:
    """Shared experts mixed by one softmax gate per task (MMoE).

    Layers: the shared bottom `shared_block_{i}`; the experts
    `shared_experts` (dense) or `shared_experts_{e}_block_{i}` (blocks);
    per task a gate `{task}_gate` and a mixture `{task}_mixture`.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        num_experts: int. Number of shared experts. Defaults to 4.
        expert_units: list of int or None. Widths of each dense expert, on
            top of the shared bottom. Defaults to None (each expert is a copy
            of the trunk blocks above the shared bottom).
        shared_depth: int or None. Trunk blocks below the experts, shared by
            all. Defaults to None (the whole trunk for dense experts, all
            blocks but the last for block experts).

    Returns:
        A `SharingResult`: each task's mixture, and the outputs
        `{task}_gate_weights`, shape `[batch, num_experts]`.
    """
    check_count("num_experts", num_experts)
    expert_units = check_expert_units(expert_units)
    bottom, depth = shared_bottom(features, trunk, shared_depth, expert_units)
    experts = build_experts(
        bottom, num_experts, "shared_experts", trunk, range(depth, trunk.num_blocks), expert_units
    )
    per_task, gates = {}, {}
    for task in tasks:
        gates[task.name] = softmax_gate(bottom, num_experts, f"{task.name}_gate")
        per_task[task.name] = MixExperts(name=f"{task.name}_mixture")([gates[task.name], experts])
    return SharingResult(features=per_task, extra_outputs=gate_weight_outputs(gates))
