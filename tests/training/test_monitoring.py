"""Gradient-conflict monitor: cosines and norms against numpy on independently taken gradients."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.training.monitoring import HEATMAP_FILE, MEASUREMENTS_FILE, GradientConflictMonitor, cosine_matrix
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((6, 6, 1))}
TASKS = [Task("digit", "classification", 3, loss_weight=0.5), Task("flag", "binary"), Task("value", "regression")]


def numpy_cosines(grads):
    norms = np.linalg.norm(grads, axis=1)
    cosines = np.zeros((len(grads), len(grads)))
    for i in range(len(grads)):
        for j in range(len(grads)):
            if norms[i] > 0 and norms[j] > 0:
                cosines[i, j] = grads[i] @ grads[j] / (norms[i] * norms[j])
    return cosines, norms


def test_cosine_matrix_against_numpy_with_a_zero_row():
    grads = np.array([[1.0, 2.0, -1.0], [-2.0, 0.5, 0.0], [0.0, 0.0, 0.0], [3.0, 1.0, 1.0]], "float32")
    cosines, norms = cosine_matrix(tf.constant(grads))
    expected_cosines, expected_norms = numpy_cosines(grads.astype("float64"))
    np.testing.assert_allclose(cosines.numpy(), expected_cosines, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norms.numpy(), expected_norms, rtol=1e-6)


def data(size=24):
    rng = np.random.default_rng(4)
    features = {"image": rng.random((size, 6, 6, 1), dtype="float32")}
    labels = {
        "digit": rng.integers(0, 3, size),
        "flag": rng.integers(0, 2, size).astype("float32"),
        "value": rng.normal(size=(size, 1)).astype("float32"),
    }
    labels["value"][:4] = np.nan
    return features, labels


def independent_gradients(model, features, labels):
    """Each task's gradient of loss_weight * loss w.r.t. the shared variables, one tape per task."""
    shared = [v for v in model.trainable_variables if len(model.variable_tasks[v.path]) > 1]
    rows = []
    for task in model.tasks:
        with tf.GradientTape() as tape:
            losses, _ = model.compute_task_losses(labels, model(features, training=False))
            loss = task.loss_weight * losses[task.name]
        rows.append(np.concatenate([g.numpy().ravel() for g in tape.gradient(loss, shared)]))
    return np.array(rows, "float64")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitor")
    keras.utils.set_random_seed(0)
    model = build_model(INPUTS, vision_conv(INPUTS, filters=[4], dense_units=[8]), TASKS, shared_depth=1)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    features, labels = data()
    held = (features, labels)
    monitor = GradientConflictMonitor(every_n_steps=2, output_dir=folder / "run", batch=held,
                                      log_dir=folder / "tensorboard")
    history = model.fit(features, labels, batch_size=8, epochs=2, verbose=0, callbacks=[monitor]).history
    return model, monitor, history, held, folder


def test_measurements_match_numpy_cosines_of_independently_taken_gradients(trained):
    model, monitor, _, (features, labels), _ = trained
    cosines, norms = monitor.measure()
    expected_cosines, expected_norms = numpy_cosines(independent_gradients(model, features, labels))
    np.testing.assert_allclose(norms, expected_norms, rtol=1e-4)
    np.testing.assert_allclose(cosines, expected_cosines, rtol=1e-4, atol=1e-5)
    assert np.all(np.abs(cosines) <= 1 + 1e-6) and np.allclose(np.diag(cosines), 1.0, atol=1e-5)


def test_every_n_steps_and_history_holds_each_epoch_mean(trained):
    _, monitor, history, _, _ = trained
    # 3 steps per epoch, every 2 steps: steps 2, 4, 6 (+ the one measured by the test above, if it ran first).
    assert [step for step, _, _ in monitor.measurements][:3] == [2, 4, 6]
    first_epoch = monitor.measurements[0][1]
    second_epoch = np.mean([monitor.measurements[1][1], monitor.measurements[2][1]], axis=0)
    assert history["cosine_digit_flag"] == pytest.approx([first_epoch[0, 1], second_epoch[0, 1]], rel=1e-6)
    assert history["cosine_flag_value"][1] == pytest.approx(second_epoch[1, 2], rel=1e-6)
    assert history["grad_norm_value"][0] == pytest.approx(float(monitor.measurements[0][2][2]), rel=1e-6)
    assert {"cosine_digit_value", "grad_norm_digit", "grad_norm_flag"} <= set(history)


def test_heatmap_png_measurements_json_and_tensorboard_scalars(trained):
    _, monitor, _, _, folder = trained
    with Image.open(folder / "run" / HEATMAP_FILE) as image:
        assert image.format == "PNG"
        image.verify()
    saved = json.loads((folder / "run" / MEASUREMENTS_FILE).read_text())
    assert saved["tasks"] == ["digit", "flag", "value"]
    assert [record["step"] for record in saved["measurements"]] == [2, 4, 6]
    np.testing.assert_allclose(saved["measurements"][0]["cosines"], monitor.measurements[0][1], atol=1e-6)
    events = list((folder / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    tags = {value.tag for event in tf.compat.v1.train.summary_iterator(str(events[0])) for value in event.summary.value}
    assert {"gradient_conflicts/cosine_digit_flag", "gradient_conflicts/grad_norm_value"} <= tags


def test_every_n_steps_must_be_a_positive_integer(tmp_path):
    with pytest.raises(ValueError, match="every_n_steps must be an integer >= 1"):
        GradientConflictMonitor(every_n_steps=0, output_dir=tmp_path, batch=data())


def test_steps_are_optimizer_updates_with_several_steps_per_execution():
    # 3 steps per epoch, callbacks after steps 2, 3, 5, 6: measured once 3 and 6 steps are done.
    keras.utils.set_random_seed(0)
    model = build_model(INPUTS, vision_conv(INPUTS, filters=[4], dense_units=[8]), TASKS, shared_depth=1)
    model.compile(optimizer=keras.optimizers.SGD(0.1), steps_per_execution=2)
    features, labels = data()
    monitor = GradientConflictMonitor(every_n_steps=3, output_dir=None, batch=(features, labels))
    model.fit(features, labels, batch_size=8, epochs=2, verbose=0, callbacks=[monitor])
    assert [step for step, _, _ in monitor.measurements] == [3, 6]
