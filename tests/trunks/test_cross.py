"""CrossNetwork: the DCN-v2 recurrence against numpy, and its config."""

import keras
import numpy as np

from mtl_zoo.trunks.cross import CrossNetwork, cross_block


def test_cross_layers_equal_the_dcn_v2_recurrence_in_numpy():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(5, 4)).astype("float32")
    layer = CrossNetwork(num_layers=3)
    layer(x0)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    kernels, biases = weights[:3], weights[3:]
    x = x0.astype("float64")
    for kernel, bias in zip(kernels, biases):
        x = x0 * (x @ kernel + bias) + x
    np.testing.assert_allclose(layer(x0).numpy(), x, rtol=1e-5, atol=1e-5)
    assert layer.count_params() == 3 * (4 * 4 + 4)


def test_config_round_trip_and_fresh_named_blocks():
    factory = cross_block(2)
    first, second = factory("shared_block_1"), factory("a_block_1")
    assert first is not second and first.name == "shared_block_1_cross"
    rebuilt = keras.layers.deserialize(keras.layers.serialize(first))
    assert isinstance(rebuilt, CrossNetwork) and rebuilt.num_layers == 2
