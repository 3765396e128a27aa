"""Fused dense experts equal separate Dense layers; mixing, stacking and option errors."""

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_network
from mtl_zoo.errors import OptionError
from mtl_zoo.layers.experts import DenseExperts, MixExperts, StackExperts
from mtl_zoo.trunks.vision import vision_conv


def separate_dense(layer: DenseExperts):
    """One stack of plain `Dense` layers per expert, with the fused layer's weights."""
    stacks = []
    for expert in range(layer.num_experts):
        dense = []
        for kernel, bias in zip(layer.kernels, layer.biases):
            units = kernel.shape[-1]
            d = keras.layers.Dense(units, activation=layer.activation)
            d.build((None, kernel.shape[1]))
            d.set_weights([kernel.numpy()[expert], bias.numpy()[expert]])
            dense.append(d)
        stacks.append(dense)
    return stacks


@pytest.mark.parametrize("num_experts, units", [(1, [3]), (4, [6]), (3, [5, 2])])
def test_fused_experts_equal_separate_dense_layers(num_experts, units):
    keras.utils.set_random_seed(1)
    layer = DenseExperts(num_experts, units)
    x = np.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    fused = keras.ops.convert_to_numpy(layer(x))
    assert fused.shape == (7, num_experts, units[-1])
    for expert, stack in enumerate(separate_dense(layer)):
        h = x
        for dense in stack:
            h = dense(h)
        np.testing.assert_allclose(fused[:, expert], keras.ops.convert_to_numpy(h), rtol=1e-5, atol=1e-6)


def test_per_expert_inputs_feed_each_expert_its_own_row():
    keras.utils.set_random_seed(2)
    layer = DenseExperts(3, [5])
    x = np.random.default_rng(1).normal(size=(6, 3, 4)).astype("float32")
    fused = keras.ops.convert_to_numpy(layer(x))
    for expert, (dense,) in enumerate(separate_dense(layer)):
        separate = keras.ops.convert_to_numpy(dense(x[:, expert]))
        np.testing.assert_allclose(fused[:, expert], separate, rtol=1e-5, atol=1e-6)


def test_expert_kernels_are_initialized_like_dense():
    keras.utils.set_random_seed(3)
    layer = DenseExperts(8, [64])
    layer.build((None, 32))
    kernel = layer.kernels[0].numpy()
    limit = np.sqrt(6 / (32 + 64))  # Glorot uniform of one [32, 64] kernel, not of the stacked shape
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not np.allclose(kernel[0], kernel[1])


def test_mix_is_the_gate_weighted_sum_for_any_expert_shape():
    rng = np.random.default_rng(4)
    gates = rng.dirichlet(np.ones(3), size=5).astype("float32")
    for shape in [(5, 3, 4), (5, 3, 2, 2, 6)]:
        experts = rng.normal(size=shape).astype("float32")
        expected = np.einsum("be,be...->b...", gates, experts)
        mixed = keras.ops.convert_to_numpy(MixExperts()([gates, experts]))
        np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-6)


def test_stack_puts_experts_on_axis_one():
    parts = [np.full((2, 3), value, "float32") for value in (1.0, 2.0)]
    stacked = keras.ops.convert_to_numpy(StackExperts()(parts))
    assert stacked.shape == (2, 2, 3) and (stacked[:, 1] == 2.0).all()


INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "regression")]


@pytest.mark.parametrize(
    "options, field, message",
    [
        ({"num_experts": 0}, "num_experts", r"at least 1\. Received: num_experts=0"),
        ({"expert_units": []}, "expert_units", r"non-empty list of positive widths"),
        ({"expert_units": [4, 0]}, "expert_units", r"Received: expert_units=\[4, 0\]"),
        ({"shared_depth": 2}, "shared_depth", r"between 0 and 1 for block experts on a trunk of 2 blocks"),
        ({"shared_depth": 3, "expert_units": [4]}, "shared_depth", r"between 0 and 2 for dense experts"),
    ],
)
def test_bad_expert_options_name_the_option(options, field, message):
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    with pytest.raises(OptionError, match=message) as error:
        build_network(INPUTS, trunk, TASKS, sharing="mmoe", **options)
    assert error.value.option == field


@pytest.mark.parametrize(
    "layer", [DenseExperts(3, [4, 2], activation="tanh", name="e"), MixExperts(name="m"), StackExperts(name="s")]
)
def test_layer_config_is_the_constructor_arguments(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
