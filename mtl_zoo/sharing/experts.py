"""Experts and gates shared by the mixture-of-experts schemes (mmoe, cgc, ple, dselect_k).

Where the experts sit in the trunk, for every expert scheme:

- the first `shared_depth` trunk blocks form a **shared bottom** used by all
  experts and gates;
- an **expert** is then either a dense ReLU MLP of widths `expert_units`
  on the (flattened) bottom, or, when `expert_units` is not given, a copy of
  the trunk's remaining blocks (for images, an expert can be a copy of
  convolution blocks).

Dense experts are computed together by one `DenseExperts` layer: kernels
stacked as `[num_experts, in, out]` in one variable per depth, instead of
`num_experts` separate `Dense` layers (see `benchmarks/experts.py` and
`benchmarks/recsys_throughput.py`). Trunk blocks are opaque layers, so dense experts
are asked for with `expert_units` rather than detected in the trunk. Block
experts are separate layers stacked by `StackExperts`. Either way a group of
experts gives one tensor `[batch, num_experts, ...]`, and a task's
representation is `MixExperts()([gates, experts])`, the gate-weighted sum.

Gates are one softmax `Dense` per task named `{task}_gate` (DSelect-k has its
own gate); each scheme exposes the gate of its last level as the output
`{task}_gate_weights` (no loss), which `expert_usage` averages.

Example:

>>> import numpy as np
>>> from mtl_zoo.layers.experts import DenseExperts, MixExperts
>>> experts = DenseExperts(num_experts=3, units=[4])
>>> stacked = experts(np.ones((2, 5), "float32"))
>>> tuple(stacked.shape)
(2, 3, 4)
>>> gates = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], "float32")
>>> tuple(MixExperts()([gates, stacked]).shape)
(2, 4)
"""

from __future__ import annotations

from typing import Optional, Sequence

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.layers.experts import DenseExperts, StackExperts


# === Wiring helpers ===


def check_count(name: str, value, minimum: int = 1) -> None:
    """Raises `OptionError` unless `value` is an int of at least `minimum`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise OptionError(name, f"{name} must be an integer of at least {minimum}. Received: {name}={value!r}")


def flatten(x, name: str):
    """`x` flattened to `[batch, features]` by a layer named `name` (as is if already 2-D)."""
    return x if len(x.shape) == 2 else keras.layers.Flatten(name=name)(x)


def check_expert_units(expert_units) -> Optional[list]:
    """Returns `expert_units` as a list of ints (or None); raises `OptionError` if invalid."""
    if expert_units is None:
        return None
    units = list(expert_units)
    if not units or any(not isinstance(width, int) or isinstance(width, bool) or width < 1 for width in units):
        raise OptionError(
            "expert_units",
            "expert_units must be a non-empty list of positive widths, or omitted to make each "
            f"expert a copy of the trunk's last blocks. Received: expert_units={expert_units!r}",
        )
    return units


def shared_bottom(features, trunk, shared_depth: Optional[int], expert_units, num_levels: int = 1):
    """Applies the shared trunk blocks that sit below the experts.

    Args:
        features: Keras tensor. The trunk stem's output.
        trunk: `Trunk`.
        shared_depth: int or None. Blocks below the experts. None: every
            block when `expert_units` is given, else all but the last
            `num_levels` blocks (one block per expert level).
        expert_units: list of int or None. Dense expert widths, or None for
            block experts.
        num_levels: int. Levels of experts (PLE); block experts need exactly
            one trunk block per level above the shared bottom. Defaults to 1.

    Returns:
        `(bottom, shared_depth)`: the bottom's output (flattened by a layer
        `shared_bottom_flatten` for dense experts) and the depth used.
    """
    num_blocks = trunk.num_blocks
    if expert_units is None and num_levels > num_blocks:
        raise OptionError(
            "num_levels",
            f"Block experts take one trunk block per level, and the trunk has {num_blocks} blocks; "
            f"use fewer levels or set expert_units for dense experts. Received: num_levels={num_levels}",
        )
    if expert_units is not None:
        depth = num_blocks if shared_depth is None else shared_depth
        low, high = 0, num_blocks
    else:
        depth = max(num_blocks - num_levels, 0) if shared_depth is None else shared_depth
        low, high = (0, num_blocks - 1) if num_levels == 1 else (num_blocks - num_levels,) * 2
    if not isinstance(depth, int) or isinstance(depth, bool) or not low <= depth <= high:
        kind = "dense experts (expert_units)" if expert_units is not None else (
            "block experts" if num_levels == 1 else f"{num_levels} levels of block experts (one block per level)"
        )
        raise OptionError(
            "shared_depth",
            f"shared_depth must be between {low} and {high} for {kind} on a trunk of {num_blocks} blocks; "
            f"set expert_units to put dense experts on top of the trunk. Received: shared_depth={shared_depth!r}",
        )
    x = features
    for index in range(depth):
        x = trunk.blocks[index](f"shared_block_{index + 1}")(x)
    if expert_units is not None:
        x = flatten(x, "shared_bottom_flatten")
    return x, depth


def build_experts(inputs, num_experts: int, owner: str, trunk=None, blocks: Sequence[int] = (), expert_units=None):
    """A group of experts on `inputs`, stacked as `[batch, num_experts, ...]`.

    Dense experts are one `DenseExperts` layer named `owner`; block experts
    are copies of trunk blocks named `f"{owner}_{e}_block_{i}"` (counted
    from 1), stacked by a layer named `f"{owner}_stack"`.

    Args:
        inputs: Keras tensor. Input of every expert of the group.
        num_experts: int. Experts in the group.
        owner: str. Layer name prefix saying who owns them, e.g.
            "shared_experts" or "left_digit_experts".
        trunk: `Trunk` or None. Supplies blocks for block experts.
        blocks: list of int. Indices of the trunk blocks each block expert
            copies.
        expert_units: list of int or None. Widths of dense experts.
    """
    if expert_units is not None:
        return DenseExperts(num_experts, expert_units, name=owner)(flatten(inputs, f"{owner}_flatten"))
    outputs = []
    for expert in range(1, num_experts + 1):
        x = inputs
        for index in blocks:
            x = trunk.blocks[index](f"{owner}_{expert}_block_{index + 1}")(x)
        outputs.append(x)
    return StackExperts(name=f"{owner}_stack")(outputs)


GATE_WEIGHTS_SUFFIX = "_gate_weights"


def gate_weight_outputs(gates: dict) -> dict:
    """`{task}_gate_weights` -> gate tensor, the outputs without a loss expert schemes expose."""
    return {f"{name}{GATE_WEIGHTS_SUFFIX}": gate for name, gate in gates.items()}


def softmax_gate(inputs, num_experts: int, name: str):
    """A softmax gate `[batch, num_experts]` on (flattened) `inputs`, one `Dense` named `name`."""
    return keras.layers.Dense(num_experts, activation="softmax", dtype="float32", name=name)(
        flatten(inputs, f"{name}_flatten")
    )


def concatenate_experts(groups: list, name: str):
    """Joins expert groups `[batch, n_i, ...]` along the expert axis (a single group as is)."""
    return groups[0] if len(groups) == 1 else keras.layers.Concatenate(axis=1, name=name)(groups)
