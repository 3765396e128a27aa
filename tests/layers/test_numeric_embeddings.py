"""Numeric embedding layers against numpy: PLE formula, quantile edges, periodic features, per-feature dense."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.layers.numeric_embeddings import PerFeatureDense, PeriodicEncoding, PiecewiseLinearEncoding


def piecewise_linear_reference(x: float, edges) -> list:
    """Gorishniy et al. 2022, eq. in section 3.2: 1 below x, the fraction in x's bin, 0 above (ends unbounded)."""
    num_bins = len(edges) - 1
    encoding = []
    for t in range(1, num_bins + 1):
        left, right = edges[t - 1], edges[t]
        if x < left and t > 1:
            encoding.append(0.0)
        elif x >= right and t < num_bins:
            encoding.append(1.0)
        else:
            encoding.append((x - left) / (right - left))
    return encoding


def test_piecewise_linear_encoding_is_the_papers_formula_on_fixed_edges():
    edges = [[-2.0, -0.5, 0.0, 1.5, 4.0], [0.0, 10.0, 11.0]]  # the second feature has 2 of 4 bins (ties)
    layer = PiecewiseLinearEncoding(num_bins=4, bin_edges=edges)
    x = np.array([[-3.0, -1.0], [-2.0, 0.0], [-1.0, 5.0], [0.0, 10.0], [0.7, 10.5], [1.5, 11.0], [9.0, 30.0]],
                 "float32")
    result = layer(x).numpy()
    assert result.shape == (7, 2, 4)
    for row in range(len(x)):
        np.testing.assert_allclose(result[row, 0], piecewise_linear_reference(float(x[row, 0]), edges[0]),
                                   rtol=1e-6, atol=1e-6)
        second = piecewise_linear_reference(float(x[row, 1]), edges[1])
        np.testing.assert_allclose(result[row, 1], second + [0.0, 0.0], rtol=1e-6, atol=1e-6)


def test_adapted_edges_are_the_numpy_quantiles_of_the_finite_values_of_each_feature():
    rng = np.random.default_rng(0)
    values = np.stack([rng.normal(3.0, 2.0, 500), rng.exponential(1.0, 500)], axis=1).astype("float32")
    values[::7, 0] = np.nan
    values[::5, 1] = np.nan
    layer = PiecewiseLinearEncoding(num_bins=8)
    layer.adapt(tf.data.Dataset.from_tensor_slices(values).batch(64))  # batches, as the trunk adapts
    for feature in range(2):
        expected = np.nanquantile(values[:, feature].astype("float64"), np.linspace(0, 1, 9))
        np.testing.assert_allclose(layer.bin_edges[feature], expected, rtol=1e-6)


def test_tied_values_give_distinct_edges_and_a_constant_feature_encodes_to_zero():
    values = np.array([[1.0, 5.0]] * 6 + [[2.0, 5.0], [3.0, 5.0]], "float32")
    layer = PiecewiseLinearEncoding(num_bins=4)
    layer.adapt(values)
    assert layer.bin_edges == [[1.0, 1.25, 3.0], [5.0]]  # quantiles 1, 1, 1, 1.25, 3 without repeats
    result = layer(np.array([[2.0, 7.0]], "float32")).numpy()[0]
    np.testing.assert_allclose(result, [[1.0, 0.75 / 1.75, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]], rtol=1e-6)
    assert np.isfinite(result).all()


def test_periodic_encoding_is_sin_and_cos_of_its_own_frequencies():
    keras.utils.set_random_seed(0)
    layer = PeriodicEncoding(num_frequencies=3, frequency_scale=0.5)
    x = np.array([[0.3, -1.2], [2.0, 0.0]], "float32")
    result = layer(x).numpy()
    frequencies = layer.frequencies.numpy()
    assert frequencies.shape == (2, 3)
    phases = 2 * np.pi * x[:, :, None] * frequencies[None]
    np.testing.assert_allclose(result, np.concatenate([np.sin(phases), np.cos(phases)], axis=-1), atol=1e-6)


def test_periodic_frequencies_start_at_the_given_scale():
    keras.utils.set_random_seed(1)
    layer = PeriodicEncoding(num_frequencies=400, frequency_scale=3.0)
    layer.build((None, 5))
    assert abs(float(np.std(layer.frequencies.numpy())) - 3.0) < 0.15


def test_per_feature_dense_applies_each_features_own_weights():
    layer = PerFeatureDense(3)
    x = np.random.default_rng(2).normal(size=(4, 2, 5)).astype("float32")
    result = layer(x).numpy()
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    expected = np.stack([x[:, f] @ kernel[f] + bias[f] for f in range(2)], axis=1)
    np.testing.assert_allclose(result, np.maximum(expected, 0.0), rtol=1e-5, atol=1e-6)
    assert (result == 0).any() and (result > 0).any()  # the ReLU is applied


@pytest.mark.parametrize("layer", [
    PiecewiseLinearEncoding(num_bins=3, bin_edges=[[0.1, 0.2, 0.7, 0.9]]),
    PeriodicEncoding(num_frequencies=2, frequency_scale=0.3),
    PerFeatureDense(2, activation=None),
], ids=["piecewise_linear", "periodic", "per_feature_dense"])
def test_config_round_trip_gives_the_same_layer(layer):
    x = np.array([[0.15], [0.8], [2.0]], "float32")
    inputs = x[:, :, None].repeat(4, axis=-1) if isinstance(layer, PerFeatureDense) else x
    expected = layer(inputs).numpy()
    rebuilt = keras.layers.deserialize(keras.layers.serialize(layer))
    assert rebuilt.get_config() == layer.get_config()
    if not rebuilt.built:
        rebuilt.build(inputs.shape)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(inputs).numpy(), expected)


@pytest.mark.parametrize("edges", [[[0.0, 0.0, 1.0]], [[2.0, 1.0]], [[0.0, 1.0, 2.0, 3.0]], [[]]])
def test_bad_edges_are_refused(edges):
    with pytest.raises(ValueError, match="increasing"):
        PiecewiseLinearEncoding(num_bins=2, bin_edges=edges)
