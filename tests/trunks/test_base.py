"""Trunk: block count, the default stem, and the adaptation step (`Trunk.adapt`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.trunks.base import Trunk


def dense_block(prefix):
    return keras.layers.Dense(2, name=f"{prefix}_dense")


def test_a_trunk_without_adaptation_ignores_adapt():
    trunk = Trunk([dense_block])
    assert not trunk.needs_adaptation
    assert trunk.adapt(tf.data.Dataset.from_tensor_slices({"x": [[1.0]]})) is trunk
    assert not trunk.adapted


def test_adapt_hands_batches_of_the_unbatched_features_to_the_adaptation_once():
    seen = []
    trunk = Trunk([dense_block], adaptation=lambda batches: seen.extend(batches.as_numpy_iterator()))
    assert trunk.needs_adaptation
    values = np.arange(10, dtype="float32")
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"x": values}), batch_size=4)
    assert not trunk.needs_adaptation and trunk.adapted
    assert [len(batch["x"]) for batch in seen] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([batch["x"] for batch in seen]), values)


def test_adapted_normalization_in_the_stem_learns_the_training_mean():
    normalization = keras.layers.Normalization(name="x_normalization")
    trunk = Trunk(
        [dense_block],
        stem=lambda inputs: normalization(inputs["x"]),
        adaptation=lambda batches: normalization.adapt(batches.map(lambda features: features["x"])),
    )
    values = np.random.default_rng(0).normal(3.0, 2.0, (50, 1)).astype("float32")
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"x": values}))
    np.testing.assert_allclose(normalization.mean.numpy().ravel(), [values.mean()], rtol=1e-5)
    np.testing.assert_allclose(normalization.variance.numpy().ravel(), [values.var()], rtol=1e-4)


@pytest.mark.parametrize("data", [
    tf.data.Dataset.from_tensor_slices(({"x": [1.0]}, {"y": [0.0]})),  # (features, labels) pairs
    np.zeros((3, 1)),
])
def test_adapt_refuses_what_is_not_a_dataset_of_feature_dicts(data):
    trunk = Trunk([dense_block], adaptation=lambda batches: None)
    with pytest.raises(ValueError, match="unbatched tf.data.Dataset of feature dicts") as error:
        trunk.adapt(data)
    assert "\n" not in str(error.value)
    assert trunk.needs_adaptation


def test_the_default_stem_takes_the_only_input():
    trunk = Trunk([dense_block])
    with pytest.raises(ValueError, match="exactly one input"):
        trunk.stem({"a": keras.Input((2,)), "b": keras.Input((2,))})
    with pytest.raises(ValueError, match="at least one block"):
        Trunk([])
