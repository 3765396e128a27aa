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
    assert sorted(history) == ["digit_accuracy", "digit_loss", "loss", "value_loss", "value_mae"]
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
        MultiTaskModel(model.network, [Task("digit", "classification", 3)])


def test_fit_accepts_tf_data_with_per_task_sample_weights():
    import tensorflow as tf

    model = small_model(TASKS)
    model.compile(optimizer="adam")
    features, labels = batch()
    weights = {"digit": np.ones(16, "float32"), "value": np.zeros(16, "float32")}
    dataset = tf.data.Dataset.from_tensor_slices((features, labels, weights)).batch(8)
    logs = model.evaluate(dataset, return_dict=True, verbose=0)
    assert logs["value_loss"] == 0.0 and logs["digit_loss"] > 0.0


@pytest.mark.parametrize(
    "task_name, bad_value, expected",
    [
        ("digit", 3, "class indices must be below classes=3"),
        ("flag", 2.0, "labels must lie in [0, 1]"),
    ],
)
def test_labels_that_cannot_belong_to_a_task_stop_training(task_name, bad_value, expected):
    import tensorflow as tf

    model = small_model([Task("digit", "classification", 3), Task("flag", "binary")])
    model.compile(optimizer="adam")
    features, labels = batch()
    labels = {"digit": labels["digit"], "flag": np.zeros(16, "float32")}
    labels[task_name][5] = bad_value
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"Task {task_name} has a label that cannot belong"):
        model.fit(features, labels, epochs=1, batch_size=16, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(expected)):
        model.evaluate(features, labels, verbose=0)
