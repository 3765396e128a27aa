"""expert_usage: each task's mean gate weight per expert, for every mixture-of-experts scheme."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.sharing.expert_usage import expert_usage
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "binary")]
SCHEMES = [
    ("mmoe", {"num_experts": 3}, 3),
    ("cgc", {"num_shared_experts": 2, "num_task_experts": 2, "expert_units": [4]}, 4),
    ("ple", {"num_levels": 2, "num_shared_experts": 1, "num_task_experts": 2, "expert_units": [4]}, 3),
    ("dselect_k", {"num_experts": 5, "k": 2}, 5),
]


def make(sharing, options):
    keras.utils.set_random_seed(8)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_model(INPUTS, trunk, TASKS, sharing=sharing, **options)


@pytest.mark.parametrize("sharing, options, num_experts", SCHEMES, ids=[row[0] for row in SCHEMES])
def test_usage_is_the_mean_of_the_gate_outputs(sharing, options, num_experts):
    model = make(sharing, options)
    images = np.random.default_rng(2).random((37, 8, 8, 1), dtype="float32")
    outputs = model.predict({"image": images}, verbose=0)
    usage = expert_usage(model, {"image": images}, batch_size=8)
    assert sorted(usage) == ["a", "b"]
    for task in usage:
        gates = outputs[f"{task}_gate_weights"].astype("float64")
        np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-5)  # a distribution per example
        assert usage[task].shape == (num_experts,)
        np.testing.assert_allclose(usage[task], gates.mean(axis=0), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(usage[task].sum(), 1.0, rtol=1e-5)


def test_usage_reads_a_labelled_data_set_too():
    model = make("mmoe", {"num_experts": 3, "expert_units": [4]})
    images = np.random.default_rng(3).random((20, 8, 8, 1), dtype="float32")
    labels = {"a": np.zeros((20, 1), "float32"), "b": np.ones((20, 1), "float32")}
    dataset = tf.data.Dataset.from_tensor_slices(({"image": images}, labels)).batch(6)
    from_arrays = expert_usage(model, {"image": images})
    from_dataset = expert_usage(model, dataset)
    for task in from_arrays:
        np.testing.assert_allclose(from_dataset[task], from_arrays[task], rtol=1e-5)


def test_a_model_without_gates_is_refused():
    with pytest.raises(ValueError, match=r"no gate weights outputs .* Received: outputs=\['a', 'b'\]"):
        expert_usage(make("hard", {}), {"image": np.zeros((2, 8, 8, 1), "float32")})
