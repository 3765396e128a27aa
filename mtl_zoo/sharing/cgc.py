"""Customized gate control (CGC): shared experts plus experts private to each task.

Each task has `num_task_experts` experts of its own besides the
`num_shared_experts` experts all tasks share; the task's softmax gate mixes
its own experts and the shared ones (never another task's), so task
conflicts stay out of the private experts (Tang et al., RecSys 2020:
https://doi.org/10.1145/3383313.3412236). One CGC level is also the unit that
`ple` stacks. Experts sit on the trunk's shared bottom as in `mmoe` (see
`mtl_zoo.sharing.experts`).

A task's gate weights, output as `{task}_gate_weights`, are ordered: its own
experts first, then the shared experts.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.cgc import cgc
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = cgc(keras.Input((3,)), trunk, tasks, num_shared_experts=2, num_task_experts=1, expert_units=[5])
>>> tuple(result.extra_outputs["a_gate_weights"].shape)
(None, 3)
"""

from __future__ import annotations

from typing import List, Optional

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.layers.experts import MixExperts
from mtl_zoo.sharing.experts import (
    build_experts,
    check_count,
    check_expert_units,
    concatenate_experts,
    gate_weight_outputs,
    shared_bottom,
    softmax_gate,
)
from mtl_zoo.sharing.result import SharingResult


def check_expert_counts(num_shared_experts, num_task_experts) -> None:
    """Raises `OptionError` unless both counts are integers >= 0 and a task has at least one expert."""
    check_count("num_shared_experts", num_shared_experts, minimum=0)
    check_count("num_task_experts", num_task_experts, minimum=0)
    if num_shared_experts + num_task_experts == 0:
        raise OptionError(
            "num_task_experts",
            "Each task's gate needs at least one expert: set num_shared_experts or num_task_experts "
            "above 0. Received: num_shared_experts=0, num_task_experts=0",
        )


def extraction_level(
    task_inputs: dict,
    shared_input,
    num_shared_experts: int,
    num_task_experts: int,
    suffix: str = "",
    shared_output: bool = False,
    **experts,
):
    """One CGC level: per-task and shared experts, one gate per task (and a shared gate).

    Layers are named `shared_experts{suffix}`, `{task}_experts{suffix}`,
    `{task}_gate{suffix}`, `{task}_mixture{suffix}` (and `shared_gate{suffix}`,
    `shared_mixture{suffix}`).

    Args:
        task_inputs: dict. Task name -> the input of its experts and gate.
        shared_input: Keras tensor. Input of the shared experts (and gate).
        num_shared_experts: int. Shared experts.
        num_task_experts: int. Experts of each task.
        suffix: str. Appended to layer names, e.g. "_level_1". Defaults to "".
        shared_output: bool. Also mix every expert of the level with a shared
            gate, as the shared input of the next PLE level. Defaults to False.
        **experts: `trunk`, `blocks` and `expert_units` of `build_experts`.

    Returns:
        `(task_outputs, shared, gates)`: dicts task name -> mixture and ->
        gate weights (own experts first, then shared ones), and the shared
        mixture (None unless `shared_output`).
    """
    shared, own = [], {name: [] for name in task_inputs}
    if num_shared_experts:
        shared.append(build_experts(shared_input, num_shared_experts, f"shared_experts{suffix}", **experts))
    for name, x in task_inputs.items():
        if num_task_experts:
            own[name].append(build_experts(x, num_task_experts, f"{name}_experts{suffix}", **experts))
    outputs, gates = {}, {}
    for name, x in task_inputs.items():
        candidates = concatenate_experts(own[name] + shared, f"{name}_candidates{suffix}")
        gates[name] = softmax_gate(x, num_task_experts + num_shared_experts, f"{name}_gate{suffix}")
        outputs[name] = MixExperts(name=f"{name}_mixture{suffix}")([gates[name], candidates])
    mixed = None
    if shared_output:
        everyone = shared + [group for groups in own.values() for group in groups]
        everyone = concatenate_experts(everyone, f"shared_candidates{suffix}")
        num_experts = num_shared_experts + len(task_inputs) * num_task_experts
        gate = softmax_gate(shared_input, num_experts, f"shared_gate{suffix}")
        mixed = MixExperts(name=f"shared_mixture{suffix}")([gate, everyone])
    return outputs, mixed, gates


@SHARING_SCHEMES.register("cgc")
def cgc(
    features,
    trunk,
    tasks,
    num_shared_experts: int = 2,
    num_task_experts: int = 1,
    expert_units: Optional[List[int]] = None,
    shared_depth: Optional[int] = None,
) -> SharingResult:
    """Shared and task-specific experts mixed by one gate per task (CGC).

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        num_shared_experts: int. Experts shared by all tasks. Defaults to 2.
        num_task_experts: int. Experts of each task. Defaults to 1.
        expert_units: list of int or None. Widths of each dense expert.
            Defaults to None (each expert copies the trunk blocks above the
            shared bottom).
        shared_depth: int or None. Trunk blocks below the experts. Defaults
            to None (the whole trunk for dense experts, all blocks but the
            last for block experts).

    Returns:
        A `SharingResult`: each task's mixture, and the outputs
        `{task}_gate_weights`, shape `[batch, num_task_experts + num_shared_experts]`.
    """
    check_expert_counts(num_shared_experts, num_task_experts)
    expert_units = check_expert_units(expert_units)
    bottom, depth = shared_bottom(features, trunk, shared_depth, expert_units)
    outputs, _, gates = extraction_level(
        {task.name: bottom for task in tasks}, bottom, num_shared_experts, num_task_experts,
        trunk=trunk, blocks=range(depth, trunk.num_blocks), expert_units=expert_units,
    )
    return SharingResult(features=outputs, extra_outputs=gate_weight_outputs(gates))
