"""Random loss weighting: weights on the simplex, distributed as softmax of N(0, I), reproducible."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.balancers.rlw import RandomLossWeighting
from mtl_zoo.errors import OptionError
from mtl_zoo.models.objective import balanced_objective
from mtl_zoo.trunks.vision import vision_conv

TASKS = [Task("a", "regression"), Task("b", "regression"), Task("c", "binary")]


def draws(seed, num_steps, tasks=TASKS):
    balancer = RandomLossWeighting(seed=seed)
    balancer.build_for_tasks(tasks)
    draw = tf.function(lambda steps: tf.map_fn(balancer.draw_weights, steps, fn_output_signature=tf.float32))
    return draw(tf.range(num_steps, dtype=tf.int64)).numpy()


def test_weights_are_on_the_simplex():
    weights = draws(seed=0, num_steps=200)
    assert weights.shape == (200, 3)
    assert (weights > 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)


def test_weights_are_a_softmax_of_standard_normal_draws():
    """log(w_i / w_j) = z_i - z_j: mean 0, variance 2; z_0 - z_1 and z_1 - z_2 correlate at -1/2."""
    weights = draws(seed=5, num_steps=4000)
    logs = np.log(weights)
    differences = logs[:, 0] - logs[:, 1]
    assert abs(differences.mean()) < 0.1  # standard error sqrt(2 / 4000) ~ 0.022
    assert differences.var() == pytest.approx(2.0, rel=0.1)
    # z_0 - z_1 and z_1 - z_2 have covariance -1 (correlation -1/2).
    correlation = np.corrcoef(differences, logs[:, 1] - logs[:, 2])[0, 1]
    assert correlation == pytest.approx(-0.5, abs=0.05)
    np.testing.assert_allclose(weights.mean(axis=0), 1 / 3, atol=0.01)  # symmetric: each task 1/K on average


def test_the_same_seed_gives_the_same_sequence_and_another_seed_another():
    np.testing.assert_array_equal(draws(seed=7, num_steps=20), draws(seed=7, num_steps=20))
    assert not np.allclose(draws(seed=7, num_steps=20), draws(seed=8, num_steps=20))
    assert not np.allclose(draws(seed=7, num_steps=20)[0], draws(seed=7, num_steps=20)[1])


def test_training_steps_advance_the_counter_and_evaluation_uses_the_mean_weights():
    balancer = RandomLossWeighting(seed=3)
    balancer.build_for_tasks(TASKS)
    losses, counts = tf.constant([1.0, 2.0, 3.0]), tf.ones(3)
    _, first = balanced_objective(balancer, ["a", "b", "c"], losses, counts, training=True)
    _, second = balanced_objective(balancer, ["a", "b", "c"], losses, counts, training=True)
    np.testing.assert_allclose(first.numpy(), balancer.draw_weights(0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), balancer.draw_weights(1).numpy(), rtol=1e-6)
    _, evaluation = balanced_objective(balancer, ["a", "b", "c"], losses, counts, training=False)
    np.testing.assert_allclose(evaluation.numpy(), [1 / 3] * 3, rtol=1e-6)
    assert int(balancer.step.numpy()) == 2


def fit_weights(seed):
    keras.utils.set_random_seed(0)
    inputs = {"image": InputSpec((6, 6, 1))}
    tasks = [Task("digit", "classification", 3), Task("flag", "binary")]
    model = build_model(inputs, vision_conv(inputs, filters=[4], dense_units=[8]), tasks,
                        balancer=RandomLossWeighting(seed=seed))
    model.compile(optimizer="sgd")
    rng = np.random.default_rng(0)
    features = {"image": rng.random((32, 6, 6, 1), dtype="float32")}
    labels = {"digit": rng.integers(0, 3, 32), "flag": rng.integers(0, 2, 32).astype("float32")}
    history = model.fit(features, labels, batch_size=8, epochs=2, verbose=0).history
    return history, int(model.balancer.step.numpy())


def test_two_builds_with_the_same_seed_train_with_the_same_weights():
    history, steps = fit_weights(seed=4)
    again, _ = fit_weights(seed=4)
    other, _ = fit_weights(seed=5)
    assert steps == 8
    assert history["digit_weight"] == again["digit_weight"] and history["loss"] == again["loss"]
    assert history["digit_weight"] != other["digit_weight"]
    np.testing.assert_allclose(np.add(history["digit_weight"], history["flag_weight"]), 1.0, rtol=1e-6)


@pytest.mark.parametrize("seed", [1.5, "3", True, None])
def test_seed_must_be_an_integer(seed):
    with pytest.raises(OptionError, match="integer seed") as error:
        RandomLossWeighting(seed=seed)
    assert error.value.option == "seed"


def test_the_draws_are_the_same_with_xla():
    balancer = RandomLossWeighting(seed=2)
    balancer.build_for_tasks(TASKS)
    compiled = tf.function(balancer.draw_weights, jit_compile=True)
    for step in range(5):
        np.testing.assert_allclose(compiled(tf.constant(step, tf.int64)).numpy(), balancer.draw_weights(step).numpy(),
                                   rtol=1e-6)
