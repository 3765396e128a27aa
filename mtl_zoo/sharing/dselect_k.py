"""DSelect-k: differentiable selection of at most k experts per task.

Like `mmoe`, but each task's gate picks at most `k` of the `num_experts`
shared experts (Hazimeh et al., NeurIPS 2021: https://arxiv.org/abs/2106.03760).
The gate has `k` single-expert selectors. Selector `i` holds `m =
ceil(log2(num_experts))` logits `z_i`; a smooth step `S` (0 below `-gamma/2`,
1 above `gamma/2`, a cubic in between) turns them into soft bits, and code
`c` gets weight `r_i[c] = Π_j (S(z_ij) if bit j of c is 1 else 1 - S(z_ij))`,
a distribution over the `2^m` codes that becomes one-hot once every `|z_ij|
>= gamma/2`. The gate is `Σ_i softmax(w)_i · r_i`: at most `k` experts. With
`per_example=True` the logits `z` and `w` are linear in the (flattened)
shared bottom, so each example uses at most `k` experts; otherwise they are
free parameters and the whole task uses at most `k` experts.

When `num_experts` is not a power of two, code `c` selects expert
`c mod num_experts` (the paper instead penalizes unreachable codes), so the
gate always sums to 1. An optional entropy penalty on the selectors,
`entropy_weight · mean Σ_i H(r_i)`, speeds up their convergence to one-hot; it
is logged as `{task}_selector_entropy_loss`.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.dselect_k import dselect_k
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("a", "regression"), Task("b", "regression")]
>>> result = dselect_k(keras.Input((3,)), trunk, tasks, num_experts=5, k=2, expert_units=[6])
>>> tuple(result.extra_outputs["a_gate_weights"].shape)
(None, 5)
"""

from __future__ import annotations

import math
from typing import List, Optional

import keras
import numpy as np
from keras import ops

from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.layers.experts import MixExperts
from mtl_zoo.sharing.experts import (
    build_experts,
    check_count,
    check_expert_units,
    flatten,
    gate_weight_outputs,
    shared_bottom,
)
from mtl_zoo.sharing.result import SharingResult

EPSILON = 1e-7


def smooth_step(x, gamma: float):
    """0 for `x <= -gamma/2`, 1 for `x >= gamma/2`, `-2x³/γ³ + 3x/(2γ) + 1/2` in between."""
    cubic = -2.0 / gamma**3 * x**3 + 3.0 / (2.0 * gamma) * x + 0.5
    return ops.where(x <= -gamma / 2, 0.0, ops.where(x >= gamma / 2, 1.0, cubic))


def code_matrices(num_experts: int):
    """`(bits [2^m, m], assignment [2^m, num_experts])`: binary codes and code -> expert `c mod n`."""
    num_bits = math.ceil(math.log2(num_experts))
    codes = np.arange(2**num_bits)
    bits = ((codes[:, None] >> np.arange(num_bits - 1, -1, -1)[None, :]) & 1).astype("float32")
    assignment = np.eye(num_experts, dtype="float32")[codes % num_experts]
    return bits, assignment


@keras.saving.register_keras_serializable(package="mtl_zoo")
class DSelectKGate(keras.layers.Layer):
    """The k single-expert selectors of one task and their softmax weights.

    Input: the routing features `[batch, features]` (only their batch size
    is used when `per_example=False`). Output: `(selector_weights [batch, k],
    selectors [batch, k, num_experts])`; the gate is their mixture
    `Σ_i selector_weights_i · selectors_i` (`MixExperts`). Selector weights
    are a softmax of logits `w` (all ones when `k=1`).

    Args:
        num_experts: int. Experts to choose from (at least 2).
        k: int. Selectors, so at most `k` experts get a nonzero weight.
        gamma: float. Width of the smooth step's cubic part. Defaults to 1.0.
        per_example: bool. Selector logits are linear in the input (True) or
            free parameters (False). Defaults to True.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, num_experts: int, k: int, gamma: float = 1.0, per_example: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_experts = int(num_experts)
        self.k = int(k)
        self.gamma = float(gamma)
        self.per_example = bool(per_example)
        bits, assignment = code_matrices(self.num_experts)
        self.num_bits = bits.shape[1]
        self._bits, self._assignment = bits, assignment

    def build(self, input_shape):
        small = keras.initializers.RandomUniform(-self.gamma / 100, self.gamma / 100)
        width = input_shape[-1]
        if self.per_example:
            self.z_kernel = self.add_weight(shape=(width, self.k * self.num_bits), name="z_kernel", initializer=small)
            self.z_bias = self.add_weight(shape=(self.k * self.num_bits,), name="z_bias", initializer=small)
        else:
            self.z_logits = self.add_weight(shape=(self.k * self.num_bits,), name="z_logits", initializer=small)
        if self.k > 1 and self.per_example:  # one selector needs no selector weights
            self.w_kernel = self.add_weight(shape=(width, self.k), name="w_kernel", initializer="random_uniform")
            self.w_bias = self.add_weight(shape=(self.k,), name="w_bias", initializer="random_uniform")
        elif self.k > 1:
            self.w_logits = self.add_weight(shape=(self.k,), name="w_logits", initializer="random_uniform")

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        if self.per_example:
            z = ops.matmul(inputs, self.z_kernel) + self.z_bias
        else:
            z = ops.broadcast_to(self.z_logits, (batch, self.k * self.num_bits))
        if self.k == 1:
            weights = ops.ones((batch, 1), dtype=z.dtype)
        elif self.per_example:
            weights = ops.softmax(ops.matmul(inputs, self.w_kernel) + self.w_bias, axis=-1)
        else:
            weights = ops.softmax(ops.broadcast_to(self.w_logits, (batch, self.k)), axis=-1)
        soft_bits = smooth_step(ops.reshape(z, (-1, self.k, 1, self.num_bits)), self.gamma)
        bits = ops.convert_to_tensor(self._bits, dtype=soft_bits.dtype)
        code_weights = ops.prod(bits * soft_bits + (1.0 - bits) * (1.0 - soft_bits), axis=-1)
        selectors = ops.matmul(code_weights, ops.convert_to_tensor(self._assignment, dtype=soft_bits.dtype))
        return weights, selectors

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.k), (input_shape[0], self.k, self.num_experts)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_experts": self.num_experts,
            "k": self.k,
            "gamma": self.gamma,
            "per_example": self.per_example,
        }


@keras.saving.register_keras_serializable(package="mtl_zoo")
class SelectorEntropyLoss(AuxiliaryLoss):
    """Mean over examples of `Σ_i H(selector_i)`; passes the selectors `[batch, k, experts]` through."""

    def compute_term(self, inputs):
        entropy = -ops.sum(inputs * ops.log(inputs + EPSILON), axis=-1)
        return ops.mean(ops.sum(entropy, axis=-1))


@SHARING_SCHEMES.register("dselect_k")
def dselect_k(
    features,
    trunk,
    tasks,
    num_experts: int = 4,
    k: int = 2,
    gamma: float = 1.0,
    entropy_weight: float = 0.0,
    per_example: bool = True,
    expert_units: Optional[List[int]] = None,
    shared_depth: Optional[int] = None,
) -> SharingResult:
    """Shared experts; each task's DSelect-k gate mixes at most `k` of them.

    Layers: the experts as in `mmoe`; per task a gate `{task}_gate`
    (`DSelectKGate`), an optional `{task}_selector_entropy_loss`, the gate
    weights `{task}_gate_mix` and the mixture `{task}_mixture`.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of `Task`.
        num_experts: int. Shared experts, at least 2. Defaults to 4.
        k: int. Most experts a task (or an example) uses, from 1 to
            `num_experts`. Defaults to 2.
        gamma: float. Width of the smooth step's cubic part; larger is
            smoother but slower to become sparse. Defaults to 1.0.
        entropy_weight: float. Weight of the selectors' entropy penalty;
            0 adds none. Defaults to 0.0.
        per_example: bool. Gate depends on the example (True) or only on the
            task (False). Defaults to True.
        expert_units: list of int or None. Widths of each dense expert.
            Defaults to None (each expert copies the trunk blocks above the
            shared bottom).
        shared_depth: int or None. Trunk blocks below the experts. Defaults
            to None (as in `mmoe`).

    Returns:
        A `SharingResult`: each task's mixture, and the outputs
        `{task}_gate_weights`, shape `[batch, num_experts]`.
    """
    check_count("num_experts", num_experts, minimum=2)
    check_count("k", k)
    if k > num_experts:
        raise OptionError("k", f"k must be at most num_experts={num_experts}. Received: k={k}")
    if not gamma > 0:
        raise OptionError("gamma", f"gamma must be positive. Received: gamma={gamma!r}")
    if not entropy_weight >= 0:
        raise OptionError("entropy_weight", f"entropy_weight must be >= 0. Received: entropy_weight={entropy_weight!r}")
    expert_units = check_expert_units(expert_units)
    bottom, depth = shared_bottom(features, trunk, shared_depth, expert_units)
    experts = build_experts(
        bottom, num_experts, "shared_experts", trunk, range(depth, trunk.num_blocks), expert_units
    )
    routing = flatten(bottom, "routing_flatten")
    per_task, gates = {}, {}
    for task in tasks:
        weights, selectors = DSelectKGate(num_experts, k, gamma, per_example, name=f"{task.name}_gate")(routing)
        if entropy_weight > 0:
            selectors = SelectorEntropyLoss(entropy_weight, name=f"{task.name}_selector_entropy_loss")(selectors)
        gates[task.name] = MixExperts(name=f"{task.name}_gate_mix")([weights, selectors])
        per_task[task.name] = MixExperts(name=f"{task.name}_mixture")([gates[task.name], experts])
    return SharingResult(features=per_task, extra_outputs=gate_weight_outputs(gates))
