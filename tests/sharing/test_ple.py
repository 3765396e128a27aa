"""PLE: a two-level network against a numpy recomputation from its weights; level wiring and errors."""

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_network
from mtl_zoo.errors import OptionError
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "regression")]


def softmax(z):
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def network(**options):
    keras.utils.set_random_seed(7)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_network(INPUTS, trunk, TASKS, sharing="ple", **options)


def experts(model, name, x):
    kernel, bias = model.get_layer(name).get_weights()
    return np.maximum(np.einsum("bi,eio->beo", x, kernel) + bias, 0)


def gate(model, name, x):
    kernel, bias = model.get_layer(name).get_weights()
    return softmax(x @ kernel + bias)


def mix(gates, stacked):
    return np.einsum("be,beu->bu", gates, stacked)


def test_three_dense_levels_equal_numpy_progressive_extraction():
    model = network(num_levels=3, num_shared_experts=2, num_task_experts=1, expert_units=[6])
    images = np.random.default_rng(1).random((5, 8, 8, 1), dtype="float32")
    bottom = keras.Model(model.input, model.get_layer("shared_block_2").output).predict({"image": images}, verbose=0)
    shared, per_task = bottom, {t: bottom for t in "ab"}  # level 1: every expert and gate reads the bottom
    for level in (1, 2, 3):
        # Task experts and gates read their task's mixture, shared experts (and gate) the shared mixture.
        shared_experts = experts(model, f"shared_experts_level_{level}", shared)
        own = {t: experts(model, f"{t}_experts_level_{level}", per_task[t]) for t in "ab"}
        gates = {t: gate(model, f"{t}_gate_level_{level}", per_task[t]) for t in "ab"}
        if level < 3:
            everyone = np.concatenate([shared_experts, own["a"], own["b"]], axis=1)
            shared = mix(gate(model, f"shared_gate_level_{level}", shared), everyone)
        per_task = {t: mix(gates[t], np.concatenate([own[t], shared_experts], axis=1)) for t in "ab"}
    outputs = model.predict({"image": images}, verbose=0)
    for t in "ab":
        np.testing.assert_allclose(outputs[f"{t}_gate_weights"], gates[t], rtol=1e-5, atol=1e-6)
        head_kernel, head_bias = model.get_layer(t).get_weights()
        np.testing.assert_allclose(outputs[t], per_task[t] @ head_kernel + head_bias, rtol=1e-4, atol=1e-5)


def test_the_last_level_has_no_shared_gate():
    names = {layer.name for layer in network(num_levels=3, expert_units=[4]).layers}
    assert {"shared_gate_level_1", "shared_gate_level_2", "a_gate_level_3"} <= names
    assert "shared_gate_level_3" not in names and "shared_experts_level_4" not in names


def test_block_levels_copy_the_last_blocks_in_order():
    model = network(num_levels=2, num_shared_experts=1, num_task_experts=1)
    names = {layer.name for layer in model.layers}
    assert {"shared_experts_level_1_1_block_1", "a_experts_level_1_1_block_1", "b_experts_level_2_1_block_2"} <= names
    assert not any(name.startswith("shared_block_") for name in names)
    assert model.get_layer("a_experts_level_1_1_block_1").output.shape == (None, 4, 4, 4)  # a convolution block


def test_one_block_level_on_top_of_a_shared_conv_block():
    names = {layer.name for layer in network(num_levels=1).layers}
    assert {"shared_block_1", "shared_experts_level_1_1_block_2"} <= names


@pytest.mark.parametrize(
    "options, field, message",
    [
        ({"num_levels": 3}, "num_levels", r"one trunk block per level, and the trunk has 2 blocks"),
        ({"num_levels": 2, "shared_depth": 1}, "shared_depth", r"between 0 and 0 for 2 levels of block experts"),
        ({"num_levels": 0}, "num_levels", r"at least 1\. Received: num_levels=0"),
    ],
)
def test_bad_levels_name_the_option(options, field, message):
    with pytest.raises(OptionError, match=message) as error:
        network(**options)
    assert error.value.option == field
