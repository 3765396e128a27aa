"""Regression targets standardized inside the model (`Task(standardize_target=True)`).

The loss compares `(label - m) / s` with `(prediction - m) / s`, `m` and `s` the
training labels' mean and standard deviation per output unit (NaN left out),
and the outputs are in real units. Every figure is checked against NumPy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtl_zoo
from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.artifacts.saved_model import export_saved_model
from mtl_zoo.trunks.mlp import mlp

INPUTS = {"dense_features": InputSpec((3,))}


def make(standardize=True, units=2, sharing="hard", balancer=None, **options):
    keras.utils.set_random_seed(0)
    tasks = [Task("price", "regression", classes=units, metrics=["mae", "rmse"], standardize_target=standardize),
             Task("flag", "binary")]
    trunk = mlp(INPUTS, units=[8, 8], normalize=False)
    return build_model(INPUTS, trunk, tasks, sharing=sharing, balancer=balancer, **options)


def data(size=64, seed=1, units=2):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(size, 3)).astype("float32")
    price = 1000.0 + 300.0 * features[:, :1] @ np.ones((1, units)) + rng.normal(size=(size, units))
    price = price.astype("float32")
    price[::5, 0] = np.nan
    if units > 1:
        price[::3, 1] = np.nan
    return {"dense_features": features}, {"price": price, "flag": (features[:, 1] > 0).astype("float32")}


def numpy_standardized_mse(train_labels, labels, predictions):
    mean, std = np.nanmean(train_labels.astype("float64"), axis=0), np.nanstd(train_labels.astype("float64"), axis=0)
    observed = ~np.isnan(labels)
    difference = ((labels - mean) / std - (predictions - mean) / std)[observed]
    return float(np.mean(difference ** 2))


def test_loss_is_the_mse_of_labels_and_predictions_standardized_by_the_training_labels():
    model = make()
    _, train = data(seed=1)
    model.adapt_targets(train)
    _, batch = data(size=20, seed=2)
    predictions = (np.random.default_rng(3).normal(size=(20, 2)) * 400 + 900).astype("float32")
    losses, counts = model.compute_task_losses(batch, {"price": predictions, "flag": batch["flag"]})
    expected = numpy_standardized_mse(train["price"], batch["price"], predictions)
    assert float(losses["price"]) == pytest.approx(expected, rel=1e-5)
    assert float(counts["price"]) == np.sum(~np.isnan(batch["price"]))


def test_a_batch_without_labels_gives_a_zero_loss():
    model = make()
    model.adapt_targets(data()[1])
    labels = {"price": np.full((4, 2), np.nan, "float32"), "flag": np.zeros(4, "float32")}
    losses, counts = model.compute_task_losses(labels, {"price": np.ones((4, 2), "float32"), "flag": labels["flag"]})
    assert float(losses["price"]) == 0.0 and float(counts["price"]) == 0.0


def test_evaluate_logs_the_standardized_loss_and_metrics_in_real_units():
    model = make()
    features, labels = data()
    model.adapt_targets(labels)
    model.compile(optimizer="adam")
    logs = model.evaluate(features, labels, batch_size=64, return_dict=True, verbose=0)
    predictions = model.predict(features, verbose=0)["price"]
    observed = ~np.isnan(labels["price"])
    errors = (predictions - labels["price"])[observed]
    assert logs["price_loss"] == pytest.approx(numpy_standardized_mse(labels["price"], labels["price"], predictions),
                                               rel=1e-4)
    assert logs["price_mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-4)
    assert logs["price_rmse"] == pytest.approx(np.sqrt(np.mean(errors ** 2)), rel=1e-4)


def test_outputs_are_in_real_units_and_the_same_after_keras_and_saved_model_round_trips(tmp_path):
    model = make()
    features, labels = data()
    model.adapt_targets(labels)
    model.compile(optimizer="adam")
    model.fit(features, labels, epochs=2, batch_size=16, verbose=0)
    standardized = keras.Model(model.network.input, model.network.get_layer("price").output)
    z = standardized.predict(features, verbose=0)
    mean, std = np.nanmean(labels["price"], axis=0), np.nanstd(labels["price"], axis=0)
    predictions = model.predict(features, verbose=0)["price"]
    np.testing.assert_allclose(predictions, mean + std * z, rtol=1e-5)

    model.save(tmp_path / "model.keras")
    reloaded = mtl_zoo.load_model(tmp_path / "model.keras").predict(features, verbose=0)["price"]
    np.testing.assert_array_equal(reloaded, predictions)
    export_saved_model(model, tmp_path / "saved_model")
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    for signature in ("serving_default", "price"):
        outputs = served.signatures[signature](dense_features=tf.constant(features["dense_features"]))
        np.testing.assert_allclose(outputs["price"].numpy(), predictions, rtol=1e-6)


def test_a_target_of_mean_1000_and_std_300_is_fit_only_when_standardized():
    features, labels = data(size=256, units=1)
    test_features, test_labels = data(size=256, seed=5, units=1)
    rmse = {}
    for standardize in (True, False):
        model = make(standardize, units=1)
        model.adapt_targets(labels)
        model.compile(optimizer=keras.optimizers.Adam(0.01))
        model.fit(features, labels, epochs=5, batch_size=32, verbose=0)
        rmse[standardize] = model.evaluate(test_features, test_labels, return_dict=True, verbose=0)["price_rmse"]
    assert rmse[True] < 60.0  # a fifth of the label's std
    assert rmse[False] > 10 * rmse[True]  # in real units the head cannot move its output to 1000 in time


def test_gradients_do_not_depend_on_the_unit_of_the_labels():
    features, labels = data(units=1)
    gradients = []
    for factor in (1.0, 1000.0):
        model = make(units=1)
        scaled = {**labels, "price": labels["price"] * factor}
        model.adapt_targets(scaled)
        with tf.GradientTape() as tape:
            losses, _ = model.compute_task_losses(scaled, model(features, training=True))
        gradients.append(tape.gradient(losses["price"], model.trainable_variables))
    for first, second in zip(*gradients):
        if first is not None:
            np.testing.assert_allclose(second.numpy(), first.numpy(), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("sharing, options, balancer, balancer_options", [
    ("mmoe", {"num_experts": 2}, "pcgrad", {}),
    ("shared_output", {}, "uncertainty", {}),  # one shared head: each task still gets its own scale
    ("hard", {"shared_depth": 1}, "mgda", {"rep_grad": True}),
], ids=["mmoe_pcgrad", "shared_output_uncertainty", "hard_mgda_rep_grad"])
def test_schemes_and_balancers_train_on_the_standardized_loss(sharing, options, balancer, balancer_options):
    from mtl_zoo.registry import BALANCERS

    balancer = BALANCERS.get(balancer)(**balancer_options)
    tasks = [Task("price", "regression", standardize_target=True), Task("cost", "regression", standardize_target=True)]
    keras.utils.set_random_seed(0)
    model = build_model(INPUTS, mlp(INPUTS, units=[8, 8], normalize=False), tasks, sharing=sharing,
                        balancer=balancer, **options)
    features, labels = data(units=1)
    labels = {"price": labels["price"], "cost": -labels["price"] / 100.0}
    model.adapt_targets(labels)
    model.compile(optimizer="adam")
    history = model.fit(features, labels, epochs=2, batch_size=16, verbose=0).history
    predictions = model.predict(features, verbose=0)
    for name in ("price", "cost"):
        expected = numpy_standardized_mse(labels[name], labels[name], predictions[name])
        losses, _ = model.compute_task_losses(labels, predictions)
        assert float(losses[name]) == pytest.approx(expected, rel=1e-4)
        assert history[f"{name}_loss"][-1] < 5.0  # standardized, not in squared real units
    assert abs(np.mean(predictions["price"]) - np.nanmean(labels["price"])) < 300.0


def test_a_network_without_the_scale_layer_is_refused():
    from mtl_zoo.models.multi_task_model import MultiTaskModel

    unscaled = make(standardize=False)
    with pytest.raises(ValueError, match="standardize_target=True but the network has no layer 'price_target_scale'"):
        MultiTaskModel(unscaled.network, [Task("price", "regression", classes=2, standardize_target=True),
                                          Task("flag", "binary")])


def test_old_task_configs_load_without_standardizing():
    config = Task("price", "regression").get_config()
    assert config.pop("standardize_target") is False
    assert Task.from_config(config).standardize_target is False


@pytest.mark.parametrize("kind, value, message", [
    ("classification", True, "has no real-valued target"),
    ("regression", "yes", "takes standardize_target as true or false"),
])
def test_the_option_is_refused_where_it_does_not_fit(kind, value, message):
    with pytest.raises(ValueError, match=message):
        Task("target", kind, classes=3 if kind == "classification" else 1, standardize_target=value)
