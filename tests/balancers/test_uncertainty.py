"""Uncertainty weighting: the objective by hand, and weights that fall on a noisier task."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.uncertainty import UncertaintyWeighting
from mtl_zoo.models.multi_task_model import MultiTaskModel
from mtl_zoo.models.objective import balanced_objective
from mtl_zoo.tasks.task import Task

TASKS = [Task("a", "regression", loss_weight=0.5), Task("b", "regression"), Task("c", "binary")]


def built(tasks=TASKS):
    balancer = UncertaintyWeighting()
    balancer.build_for_tasks(tasks)
    return balancer


def test_objective_and_weights_by_hand():
    balancer = built()
    s = np.array([0.3, -1.0, 2.0], "float32")
    balancer.log_variances.assign(s)
    losses = np.array([2.0, 3.0, 0.5], "float32")
    weighted = np.array([0.5, 1.0, 1.0]) * losses
    objective, weights = balanced_objective(
        balancer, ["a", "b", "c"], tf.constant(losses), tf.constant([4.0, 4.0, 4.0]), training=True)
    assert float(objective) == pytest.approx(np.sum(np.exp(-s) * weighted + s), rel=1e-6)
    np.testing.assert_allclose(weights.numpy(), np.exp(-s) * [0.5, 1.0, 1.0], rtol=1e-6)


def test_a_task_without_labels_contributes_nothing():
    balancer = built()
    s = np.array([0.3, -1.0, 2.0], "float32")
    balancer.log_variances.assign(s)
    objective = balancer.combine({"a": 2.0, "b": 0.0, "c": 0.5}, counts={"a": 3.0, "b": 0.0, "c": 1.0})
    assert float(objective) == pytest.approx(np.exp(-0.3) * 1.0 + 0.3 + np.exp(-2.0) * 0.5 + 2.0, rel=1e-6)


def test_log_variances_are_trained_and_saved_with_the_model():
    balancer = built()
    assert [v.trainable for v in balancer.weights] == [True]
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(balancer))
    assert isinstance(rebuilt, UncertaintyWeighting)


def two_regressions(noise, size=512, seed=0):
    """Inputs x and two regression targets: the same linear signal, with noise std `noise[task]`."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(size, 4)).astype("float32")
    signal = x @ np.array([1.0, -2.0, 0.5, 1.0], "float32")
    return {"x": x}, {name: (signal + std * rng.normal(size=size)).astype("float32")[:, None]
                      for name, std in noise.items()}


def tiny_model(tasks, balancer):
    inputs = {"x": keras.Input((4,), name="x")}
    shared = keras.layers.Dense(8, activation="relu", name="shared")(inputs["x"])
    outputs = {task.name: keras.layers.Dense(1, name=task.name)(shared) for task in tasks}
    return MultiTaskModel(keras.Model(inputs, outputs), tasks, balancer=balancer)


def test_the_noisier_task_ends_with_the_lower_weight():
    """Kendall et al.: the learned variance tracks each task's noise, exp(-s) ~ 1 / (its loss)."""
    keras.utils.set_random_seed(1)
    tasks = [Task("clean", "regression"), Task("noisy", "regression")]
    features, labels = two_regressions({"clean": 0.2, "noisy": 2.0})
    model = tiny_model(tasks, UncertaintyWeighting())
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(features, labels, batch_size=32, epochs=12, verbose=0).history
    weights = np.exp(-model.balancer.log_variances.numpy())
    assert weights[0] > 5 * weights[1]
    assert history["clean_weight"][-1] > history["clean_weight"][0]
    assert history["noisy_weight"][-1] < history["noisy_weight"][0]
    # At the optimum s = log(L): each weight is close to 1 / (the task's mean squared error).
    losses = model.evaluate(features, labels, batch_size=512, return_dict=True, verbose=0)
    np.testing.assert_allclose(weights, [1 / losses["clean_loss"], 1 / losses["noisy_loss"]], rtol=0.35)
