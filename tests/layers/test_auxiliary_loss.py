"""Every loss term joins the objective: auxiliary losses, activity and weight regularizers, plugin `add_loss` terms."""

import keras
import numpy as np
import pytest
from keras import ops

from mtl_zoo import MultiTaskModel, Task
from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss

ACTIVITY = 0.3
AUXILIARY = 0.5
KERNEL = 0.2


class MeanSquare(AuxiliaryLoss):
    def compute_term(self, inputs):
        return ops.mean(ops.square(inputs))


class AddsSum(keras.layers.Layer):
    """A plugin-style layer that adds its own term with `add_loss`."""

    def call(self, inputs):
        self.add_loss(0.1 * ops.sum(ops.abs(inputs)))
        return inputs


def network(auxiliary: bool, plugin: bool = False, kernel_regularizer=None) -> keras.Model:
    inputs = keras.Input((3,), name="dense_features")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden",
                                activity_regularizer=keras.regularizers.L2(ACTIVITY),
                                kernel_regularizer=kernel_regularizer)(inputs)
    if auxiliary:
        hidden = MeanSquare(weight=AUXILIARY, name="square_loss")(hidden)
    if plugin:
        hidden = AddsSum(name="plugin")(hidden)
    outputs = {"a": keras.layers.Dense(1, name="a")(hidden), "b": keras.layers.Dense(1, name="b")(hidden)}
    return keras.Model(inputs, outputs)


def data():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(8, 3)).astype("float32")
    return features, {"a": rng.normal(size=(8, 1)).astype("float32"), "b": rng.normal(size=(8, 1)).astype("float32")}


def reference_terms(model, features) -> dict:
    """The loss terms in numpy, from the model's weights."""
    weights = {variable.path: variable.numpy() for variable in model.network.weights}
    hidden = np.maximum(features @ weights["hidden/kernel"] + weights["hidden/bias"], 0.0)
    return {
        "activity": ACTIVITY * np.sum(hidden ** 2) / len(features),
        "auxiliary": AUXILIARY * np.mean(hidden ** 2),
        "plugin": 0.1 * np.sum(np.abs(hidden)),
        "kernel": KERNEL * np.sum(weights["hidden/kernel"] ** 2),
    }


@pytest.mark.parametrize("auxiliary", [True, False])
def test_an_activity_regularizer_counts_with_or_without_an_auxiliary_loss(auxiliary):
    keras.utils.set_random_seed(3)
    model = MultiTaskModel(network(auxiliary), [Task("a", "regression"), Task("b", "regression")])
    model.compile(optimizer="sgd")
    features, labels = data()
    logs = model.evaluate(features, labels, batch_size=8, return_dict=True, verbose=0)
    terms = reference_terms(model, features)
    expected = logs["a_loss"] + logs["b_loss"] + terms["activity"] + (terms["auxiliary"] if auxiliary else 0.0)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["regularization_loss"] == pytest.approx(terms["activity"], rel=1e-5)
    if auxiliary:
        assert logs["square_loss"] == pytest.approx(terms["auxiliary"], rel=1e-5)


def test_every_term_is_trained_on_and_logged_by_name():
    """One SGD step follows the gradient of task losses + auxiliary + activity + plugin + kernel terms."""
    keras.utils.set_random_seed(3)
    tasks = [Task("a", "regression"), Task("b", "regression")]
    model = MultiTaskModel(network(True, plugin=True, kernel_regularizer=keras.regularizers.L2(KERNEL)), tasks)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    features, labels = data()
    logs = model.evaluate(features, labels, batch_size=8, return_dict=True, verbose=0)
    terms = reference_terms(model, features)
    assert logs["loss"] == pytest.approx(logs["a_loss"] + logs["b_loss"] + sum(terms.values()), rel=1e-5)
    assert logs["regularization_loss"] == pytest.approx(terms["activity"] + terms["plugin"] + terms["kernel"], rel=1e-5)

    reference = MultiTaskModel(network(True, plugin=True, kernel_regularizer=keras.regularizers.L2(KERNEL)), tasks)
    reference.set_weights(model.get_weights())
    import tensorflow as tf

    with tf.GradientTape() as tape:
        predictions = reference(features)
        total = sum(ops.mean(ops.square(predictions[name] - labels[name])) for name in ("a", "b"))
        total = total + ops.sum(ops.stack([ops.cast(term, "float32") for term in reference.losses]))
    gradients = tape.gradient(total, reference.trainable_variables)
    expected = [variable.numpy() - 0.1 * gradient.numpy()
                for variable, gradient in zip(reference.trainable_variables, gradients)]
    history = model.fit(features, labels, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert {"square_loss", "regularization_loss"} <= set(history)
    for variable, value in zip(model.trainable_variables, expected):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6, err_msg=variable.path)
