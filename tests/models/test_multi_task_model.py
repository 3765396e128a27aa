"""MultiTaskModel: per-task logs, missing labels, compile contract, label checks."""

import re

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, MultiTaskModel, Task, build_model
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}


def small_model(tasks, **options):
    keras.utils.set_random_seed(1)
    return build_model(INPUTS, vision_conv(INPUTS, filters=[4], dense_units=[8]), tasks, **options)


def batch(size=16, seed=0):
    rng = np.random.default_rng(seed)
    features = {"image": rng.random((size, 8, 8, 1), dtype="float32")}
    labels = {
        "digit": rng.integers(0, 3, size),
        "value": rng.normal(size=(size, 1)).astype("float32"),
    }
    return features, labels


TASKS = [Task("digit", "classification", 3), Task("value", "regression")]


def test_fit_logs_total_and_per_task_loss_and_metrics():
    model = small_model(TASKS)
    model.compile(optimizer="adam")
    features, labels = batch()
    history = model.fit(features, labels, epochs=2, batch_size=8, verbose=0).history
    assert sorted(history) == [
        "digit_accuracy", "digit_loss", "digit_weight", "loss", "value_loss", "value_mae", "value_weight"
    ]
    assert all(len(values) == 2 for values in history.values())


def test_total_loss_is_weighted_sum_of_task_losses():
    model = small_model([Task("digit", "classification", 3, loss_weight=2.0), Task("value", "regression")])
    model.compile(optimizer="adam")
    features, labels = batch()
    logs = model.evaluate(features, labels, batch_size=16, return_dict=True, verbose=0)
    assert logs["loss"] == pytest.approx(2.0 * logs["digit_loss"] + logs["value_loss"], rel=1e-5)


def test_missing_labels_leave_the_other_task_untouched():
    """A batch with no labels for a task must not move that task's own weights."""
    model = small_model(TASKS, shared_depth=0)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    features, labels = batch()
    labels["value"][:] = np.nan
    value_weights = [w.numpy().copy() for w in model.network.get_layer("value").weights]
    digit_weights = [w.numpy().copy() for w in model.network.get_layer("digit").weights]
    history = model.fit(features, labels, epochs=1, batch_size=16, verbose=0).history
    assert history["value_loss"] == [0.0]
    assert np.isfinite(history["loss"][0])
    for before, after in zip(value_weights, model.network.get_layer("value").weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(
        not np.array_equal(before, after.numpy())
        for before, after in zip(digit_weights, model.network.get_layer("digit").weights)
    )


def test_missing_labels_are_excluded_from_evaluation_metrics():
    model = small_model(TASKS)
    model.compile(optimizer="adam")
    features, labels = batch()
    labels["digit"][::2] = -1
    predictions = model.predict(features, verbose=0)["digit"].argmax(axis=1)
    observed = labels["digit"] >= 0
    reference = float((predictions[observed] == labels["digit"][observed]).mean())
    logs = model.evaluate(features, labels, batch_size=5, return_dict=True, verbose=0)
    assert logs["digit_accuracy"] == pytest.approx(reference)


def test_compile_refuses_losses_and_metrics():
    model = small_model(TASKS)
    with pytest.raises(ValueError, match=r"takes `loss` from its Task specs.*Received: loss='mse'"):
        model.compile(optimizer="adam", loss="mse")


def test_compile_refuses_weighted_metrics():
    model = small_model(TASKS)
    with pytest.raises(ValueError, match=r"compile it without weighted_metrics.*Received: weighted_metrics=\['mae'\]"):
        model.compile(optimizer="adam", weighted_metrics=["mae"])


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_a_sample_weight_dict_must_name_every_task(method):
    """A tf.data stream of per-task weights that leaves out a task (or names another) is refused."""
    import tensorflow as tf

    model = small_model(TASKS)
    model.compile(optimizer="adam")
    features, labels = batch()
    for weights, expected in [
        ({"digit": np.ones(16, "float32")}, r"has none for \['value'\] \(give those tasks weights of 1.0"),
        ({name: np.ones(16, "float32") for name in ("digit", "value", "price")},
         r"no task is named \['price'\], or give one array.*Received: sample_weight keys"),
    ]:
        dataset = tf.data.Dataset.from_tensor_slices((features, labels, weights)).batch(8)
        with pytest.raises(ValueError, match=expected):
            getattr(model, method)(dataset, verbose=0)


def test_labels_must_cover_every_task():
    model = small_model(TASKS)
    model.compile(optimizer="adam")
    features, labels = batch()
    del labels["value"]
    with pytest.raises(ValueError, match=r"no entry for tasks \['value'\]"):
        model.fit(features, labels, epochs=1, verbose=0)


def test_network_outputs_must_match_tasks():
    model = small_model(TASKS)
    with pytest.raises(ValueError, match="keyed by the task names"):
        MultiTaskModel(model.network, [Task("digit", "classification", 3), Task("price", "regression")])


def test_fit_on_tf_data_with_per_task_sample_weights_trains_only_weighted_tasks():
    """A zero per-task weight is an explicit mask: fit leaves that task's own head untouched."""
    import tensorflow as tf

    model = small_model(TASKS, shared_depth=0)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    features, labels = batch()
    weights = {"digit": np.ones(16, "float32"), "value": np.zeros(16, "float32")}
    dataset = tf.data.Dataset.from_tensor_slices((features, labels, weights)).batch(8)
    value_before = [w.numpy().copy() for w in model.network.get_layer("value").weights]
    digit_before = [w.numpy().copy() for w in model.network.get_layer("digit").weights]
    history = model.fit(dataset, epochs=1, verbose=0).history
    assert history["value_loss"] == [0.0] and history["digit_loss"][0] > 0.0
    for before, after in zip(value_before, model.network.get_layer("value").weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert not np.array_equal(digit_before[0], model.network.get_layer("digit").weights[0].numpy())


def test_per_element_sample_weights_for_elementwise_tasks():
    """Weights of shape (batch, units) weight each output unit; a reference in numpy."""
    task = Task("pair", "regression", classes=2)
    model = small_model([task])
    model.compile(optimizer="adam")
    rng = np.random.default_rng(4)
    features = {"image": rng.random((6, 8, 8, 1), dtype="float32")}
    labels = {"pair": rng.normal(size=(6, 2)).astype("float32")}
    weights = {"pair": rng.random((6, 2)).astype("float32")}
    predictions = model.predict(features, verbose=0)["pair"]
    reference = float(((predictions - labels["pair"]) ** 2 * weights["pair"]).sum() / 12)
    logs = model.evaluate(features, labels, sample_weight=weights, batch_size=6, return_dict=True, verbose=0)
    assert logs["pair_loss"] == pytest.approx(reference, rel=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize(
    "task_name, bad_value, expected",
    [
        ("digit", 3, "class indices must be below classes=3"),
        ("flag", 2.0, "labels must lie in [0, 1]"),
        ("flag", 3.0, "labels must lie in [0, 1]"),
    ],
)
def test_labels_that_cannot_belong_to_a_task_stop_training(task_name, bad_value, expected, jit_compile):
    from mtl_zoo.errors import InvalidLabelError

    model = small_model([Task("digit", "classification", 3), Task("flag", "binary")])
    model.compile(optimizer="adam", jit_compile=jit_compile)
    features, labels = batch()
    labels = {"digit": labels["digit"], "flag": np.zeros(16, "float32")}
    labels[task_name][5] = bad_value
    with pytest.raises(InvalidLabelError, match=rf"^Task {task_name} has a label that cannot belong") as error:
        model.fit(features, labels, epochs=1, batch_size=16, verbose=0)
    assert error.value.task == task_name
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)
    with pytest.raises(InvalidLabelError, match=re.escape(expected)):
        model.evaluate(features, labels, verbose=0)
    labels[task_name][5] = 0
    history = model.fit(features, labels, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_epoch_loss_does_not_depend_on_batch_size_with_missing_labels():
    """The logged loss is sum_t w_t * mean_t over the epoch, for any batch size."""
    tasks = [Task("digit", "classification", 3, loss_weight=2.0), Task("value", "regression", loss_weight=0.5)]
    model = small_model(tasks)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(5)
    features, labels = batch(size=64, seed=5)
    labels["digit"][rng.random(64) < 0.4] = -1
    labels["value"][:40] = np.nan  # all missing in the first batches of 8 and 32
    predictions = model.predict(features, verbose=0)
    observed = labels["digit"] >= 0
    probabilities = predictions["digit"][observed, labels["digit"][observed]]
    digit_mean = float(-np.log(probabilities).mean())
    value_observed = ~np.isnan(labels["value"])
    value_mean = float(((predictions["value"] - np.nan_to_num(labels["value"])) ** 2)[value_observed].mean())
    for batch_size in (8, 32, 64):
        logs = model.evaluate(features, labels, batch_size=batch_size, return_dict=True, verbose=0)
        assert logs["digit_loss"] == pytest.approx(digit_mean, rel=1e-5)
        assert logs["value_loss"] == pytest.approx(value_mean, rel=1e-5)
        assert logs["loss"] == pytest.approx(2.0 * digit_mean + 0.5 * value_mean, rel=1e-5)


def test_config_keeps_trainable():
    model = small_model(TASKS)
    model.trainable = False
    config = model.get_config()
    assert config["trainable"] is False
    assert MultiTaskModel.from_config(config).trainable is False
