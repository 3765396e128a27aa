"""MMoE: outputs against a numpy recomputation from the layer weights, gate weights, layer names."""

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_network
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "regression", classes=2)]


def softmax(z):
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def network(**options):
    keras.utils.set_random_seed(5)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_network(INPUTS, trunk, TASKS, sharing="mmoe", **options)


def layer_output(model, name, images):
    return keras.Model(model.input, model.get_layer(name).output).predict({"image": images}, verbose=0)


def images(size=6):
    return np.random.default_rng(0).random((size, 8, 8, 1), dtype="float32")


def test_dense_mmoe_equals_numpy_mixture_of_experts():
    model = network(num_experts=3, expert_units=[6, 5])
    x = images()
    bottom = layer_output(model, "shared_block_2", x)  # the whole trunk is the shared bottom: 8 features
    kernels = model.get_layer("shared_experts").get_weights()  # kernel_1, bias_1, kernel_2, bias_2
    experts = []
    for e in range(3):
        h = np.maximum(bottom @ kernels[0][e] + kernels[1][e], 0)
        experts.append(np.maximum(h @ kernels[2][e] + kernels[3][e], 0))
    outputs = model.predict({"image": x}, verbose=0)
    for task in TASKS:
        gate_kernel, gate_bias = model.get_layer(f"{task.name}_gate").get_weights()
        gates = softmax(bottom @ gate_kernel + gate_bias)
        np.testing.assert_allclose(outputs[f"{task.name}_gate_weights"], gates, rtol=1e-5, atol=1e-6)
        mixture = sum(gates[:, [e]] * experts[e] for e in range(3))
        head_kernel, head_bias = model.get_layer(task.name).get_weights()
        np.testing.assert_allclose(outputs[task.name], mixture @ head_kernel + head_bias, rtol=1e-4, atol=1e-5)


def test_block_experts_are_copies_of_the_last_block_mixed_per_task():
    model = network(num_experts=2)
    names = {layer.name for layer in model.layers}
    assert {"shared_block_1", "shared_experts_1_block_2", "shared_experts_2_block_2", "a_gate", "b_gate"} <= names
    x = images()
    experts = [layer_output(model, f"shared_experts_{e}_block_2", x) for e in (1, 2)]
    outputs = model.predict({"image": x}, verbose=0)
    assert experts[0].shape == (6, 8) and not np.allclose(experts[0], experts[1])
    for task in TASKS:
        gates = outputs[f"{task.name}_gate_weights"]
        mixture = gates[:, [0]] * experts[0] + gates[:, [1]] * experts[1]
        np.testing.assert_allclose(layer_output(model, f"{task.name}_mixture", x), mixture, rtol=1e-5, atol=1e-6)


def test_gates_are_distributions_that_differ_per_task():
    outputs = network(num_experts=4, expert_units=[8]).predict({"image": images(32)}, verbose=0)
    for task in TASKS:
        gates = outputs[f"{task.name}_gate_weights"]
        assert gates.shape == (32, 4) and (gates >= 0).all()
        np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-6)
    assert not np.allclose(outputs["a_gate_weights"], outputs["b_gate_weights"])


@pytest.mark.parametrize("num_experts", [1, 5])
def test_parameter_count_matches_closed_form(num_experts):
    # vision trunk (conv 3x3 1->4, dense 64->8) shared; experts 8->6; gates 8->E per task; heads 6->1 and 6->2
    trunk, heads = (9 * 4 + 4) + (64 * 8 + 8), (6 + 1) + (6 * 2 + 2)
    expected = trunk + num_experts * (8 * 6 + 6) + 2 * (8 * num_experts + num_experts) + heads
    assert network(num_experts=num_experts, expert_units=[6]).count_params() == expected
