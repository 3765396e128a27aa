"""CGC: each task mixes its own experts then the shared ones, never another task's."""

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_network
from mtl_zoo.errors import OptionError
from mtl_zoo.models.sharing_map import variable_task_map
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "regression"), Task("c", "binary")]


def network(**options):
    keras.utils.set_random_seed(6)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_network(INPUTS, trunk, TASKS, sharing="cgc", **options)


def layer_outputs(model, names, images):
    outputs = {name: model.get_layer(name).output for name in names}
    return keras.Model(model.input, outputs).predict({"image": images}, verbose=0)


def test_task_mixture_is_own_experts_then_shared_weighted_by_its_gate():
    model = network(num_shared_experts=2, num_task_experts=3, expert_units=[5])
    x = np.random.default_rng(0).random((6, 8, 8, 1), dtype="float32")
    names = ["shared_experts"] + [f"{t.name}_experts" for t in TASKS] + [f"{t.name}_mixture" for t in TASKS]
    values = layer_outputs(model, names, x)
    outputs = model.predict({"image": x}, verbose=0)
    for task in TASKS:
        gates = outputs[f"{task.name}_gate_weights"]
        assert gates.shape == (6, 5)
        np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-6)
        candidates = np.concatenate([values[f"{task.name}_experts"], values["shared_experts"]], axis=1)
        expected = np.einsum("be,beu->bu", gates, candidates)
        np.testing.assert_allclose(values[f"{task.name}_mixture"], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expert_units", [None, [5]])
def test_task_experts_are_private_and_shared_experts_shared(expert_units):
    model = network(num_shared_experts=1, num_task_experts=1, expert_units=expert_units)
    mapping = variable_task_map(model, [t.name for t in TASKS])
    by_layer = {}
    for path, tasks in mapping.items():
        by_layer.setdefault(path.split("/")[0], set()).update(tasks)
    assert by_layer["shared_block_1"] == {"a", "b", "c"}
    shared_experts = "shared_experts" if expert_units else "shared_experts_1_block_2"
    assert by_layer[shared_experts] == {"a", "b", "c"}
    for task in TASKS:
        own = f"{task.name}_experts" if expert_units else f"{task.name}_experts_1_block_2"
        assert by_layer[own] == {task.name}
        assert by_layer[f"{task.name}_gate"] == {task.name}


def test_no_shared_experts_gives_independent_experts_per_task():
    model = network(num_shared_experts=0, num_task_experts=2, expert_units=[4])
    assert "shared_experts" not in {layer.name for layer in model.layers}
    assert model.output["a_gate_weights"].shape == (None, 2)


def test_a_task_needs_at_least_one_expert():
    with pytest.raises(OptionError, match="at least one expert") as error:
        network(num_shared_experts=0, num_task_experts=0)
    assert error.value.option == "num_task_experts"
    with pytest.raises(OptionError, match=r"at least 0\. Received: num_shared_experts=-1"):
        network(num_shared_experts=-1)
