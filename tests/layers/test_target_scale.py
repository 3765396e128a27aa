"""`TargetScale` and `TargetMoments` against NumPy: statistics, mapping, config round trip."""

import keras
import numpy as np
import pytest

from mtl_zoo.layers.target_scale import TargetMoments, TargetScale


def test_moments_over_batches_equal_numpy_on_the_whole_column_without_nan():
    rng = np.random.default_rng(0)
    labels = (1000.0 + 300.0 * rng.normal(size=(203, 2))).astype("float32")
    labels[::7, 0] = np.nan
    labels[::5, 1] = np.nan
    moments = TargetMoments(2)
    for start in range(0, len(labels), 16):  # batches, the last one short
        moments.update(labels[start:start + 16])
    mean, std = moments.mean_std()
    np.testing.assert_allclose(mean, np.nanmean(labels.astype("float64"), axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, np.nanstd(labels.astype("float64"), axis=0), rtol=1e-10)


def test_moments_of_a_constant_or_unlabelled_unit_keep_the_scale_finite():
    moments = TargetMoments(2)
    moments.update(np.array([[5.0, np.nan], [5.0, np.nan]]))
    mean, std = moments.mean_std()
    assert mean.tolist() == [5.0, 0.0] and std.tolist() == [1.0, 1.0]


def test_layer_maps_standardized_values_to_real_units_and_back():
    layer = TargetScale(mean=[1000.0, -2.0], std=[300.0, 0.5])
    z = np.array([[0.0, 0.0], [1.0, -2.0]], "float32")
    outputs = keras.ops.convert_to_numpy(layer(z))
    np.testing.assert_allclose(outputs, [[1000.0, -2.0], [1300.0, -3.0]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.standardize(outputs)), z, atol=1e-6)
    assert np.isnan(keras.ops.convert_to_numpy(layer.standardize(np.array([[np.nan, 1.0]], "float32"))))[0, 0]


def test_adapted_statistics_travel_in_the_config():
    layer = TargetScale()
    layer(np.zeros((1, 1), "float32"))
    layer.adapt(np.array([10.0, 20.0, np.nan, 30.0], "float32"))
    rebuilt = TargetScale.from_config(layer.get_config())
    z = np.array([[1.5]], "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rebuilt(z)), keras.ops.convert_to_numpy(layer(z)))
    assert rebuilt.get_config()["mean"] == [20.0]


@pytest.mark.parametrize("std", [[0.0], [-1.0], [float("nan")]])
def test_a_scale_that_is_not_positive_is_refused(std):
    with pytest.raises(ValueError, match="positive finite"):
        TargetScale(mean=[0.0], std=std)
