"""mlp trunk: normalization adapted on the training rows, learning, round trip, refused inputs and options."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.errors import OptionError
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.mlp import mlp

INPUTS = {"dense_features": InputSpec((3,), feature_type="numeric")}
TASKS = [Task("total", "regression"), Task("positive", "binary")]


def rows(size, seed):
    """Features on very different scales; targets linear in the standardized features."""
    rng = np.random.default_rng(seed)
    x = rng.normal([100.0, 0.0, -5.0], [50.0, 0.01, 2.0], (size, 3)).astype("float32")
    z = (x - [100.0, 0.0, -5.0]) / [50.0, 0.01, 2.0]
    labels = {"total": (z @ [1.0, -2.0, 0.5]).astype("float32"), "positive": (z[:, 1] > 0).astype("float32")}
    return x, labels


def test_normalization_learns_the_finite_training_rows_and_nan_becomes_the_mean():
    x, _ = rows(200, seed=0)
    x[::10, 2] = np.nan
    trunk = mlp(INPUTS, units=[4])
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"dense_features": x}))
    network = build_network(INPUTS, trunk, TASKS)
    normalization = network.get_layer("dense_features_normalization")
    finite = x[np.isfinite(x).all(axis=1)]
    np.testing.assert_allclose(normalization.mean.numpy().ravel(), finite.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(normalization.variance.numpy().ravel(), finite.var(axis=0), rtol=1e-3)
    stem = keras.Model(network.input, network.get_layer("dense_features_fill_missing").output)
    served = stem({"dense_features": np.array([[np.nan, 0.0, -5.0]], "float32")}).numpy()
    assert served[0, 0] == 0.0 and np.isfinite(served).all()


def test_fit_learns_from_unscaled_inputs_and_passes_the_model_contract(tmp_path):
    x, labels = rows(512, seed=1)
    keras.utils.set_random_seed(0)
    trunk = mlp(INPUTS, units=[16], batch_norm=True, dropout=0.1)
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"dense_features": x}))
    model = build_model(INPUTS, trunk, TASKS)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit({"dense_features": x}, labels, batch_size=64, epochs=8, verbose=0).history
    assert history["total_loss"][-1] < 0.2 * history["total_loss"][0]
    assert history["positive_accuracy"][-1] > 0.9
    test, test_labels = rows(32, seed=2)
    check_model(model, {"dense_features": test}, test_labels, tmp_path, saved_model=False)


def test_without_normalization_there_is_nothing_to_adapt():
    trunk = mlp(INPUTS, units=[4, 2], normalize=False)
    assert not trunk.needs_adaptation and trunk.num_blocks == 2
    network = build_network(INPUTS, trunk, TASKS, shared_depth=1)
    assert "shared_block_1" in {layer.name for layer in network.layers}
    assert all("normalization" not in layer.name for layer in network.layers)


@pytest.mark.parametrize("options, option", [
    ({"units": []}, "units"), ({"units": [4, -1]}, "units"), ({"dropout": -0.1}, "dropout"),
])
def test_bad_options_name_the_option(options, option):
    with pytest.raises(OptionError) as error:
        mlp(INPUTS, **options)
    assert error.value.option == option and "Received" in str(error.value)


@pytest.mark.parametrize("inputs", [
    {"a": InputSpec((3,)), "b": InputSpec((2,))},
    {"image": InputSpec((8, 8, 1))},
    {"city": InputSpec((), "string", feature_type="categorical")},
    {"ids": InputSpec((3,), "int64")},
])
def test_inputs_other_than_one_float_vector_are_refused_in_one_line(inputs):
    with pytest.raises(ValueError, match="mlp takes one numeric vector input") as error:
        mlp(inputs)
    assert "\n" not in str(error.value)
