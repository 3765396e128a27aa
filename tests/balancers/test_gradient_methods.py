"""What every gradient balancer owes: one table over the methods of issue 15.

Identical task gradients leave each method at that gradient, scaled by a
factor the method's definition gives in closed form; degenerate matrices
(a task without a gradient, all zero, one task, rank deficient) stay finite;
the compiled step gives what eager calls give; configs round-trip.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.base import GradientBalancer
from mtl_zoo.balancers.gradient_weighting import GradientWeighting
from mtl_zoo.registry import BALANCERS

NUM_TASKS = 3
C = 0.4
# Direction / g for K identical gradients g (K = 3, |g| = G_NORM), from each method's definition.
G = np.array([0.6, -1.2, 0.3, 2.0, 0.0], "float32")
G_NORM = float(np.linalg.norm(G))
IDENTICAL_FACTOR = {
    "pcgrad": NUM_TASKS,  # nothing conflicts: the sum
    "mgda": 1.0,  # the hull is the point g
    "cagrad": (1 + C) / (1 + C**2),  # g0 = g, g_w = g: (g + c g) / (1 + c^2)
    "imtl": 1.0,  # weights sum to 1
    "nash_mtl": np.sqrt(NUM_TASKS) / G_NORM,  # a_t = 1 / (sqrt(K) |g|)
    "aligned_mtl": NUM_TASKS,  # rank 1: B = 11^T / K, weights 1
    "upgrad": 1.0,  # projections are g itself; their mean
    "graddrop": NUM_TASKS,  # signs agree everywhere: nothing dropped
}
OPTIONS = {"cagrad": {"c": C}}
METHODS = sorted(IDENTICAL_FACTOR)


def make(name, **options):
    return BALANCERS.get(name)(**{**OPTIONS.get(name, {}), **options})


def test_every_method_is_a_registered_gradient_balancer():
    for name in METHODS:
        assert issubclass(BALANCERS.get(name), GradientBalancer), name


@pytest.mark.parametrize("name", METHODS)
def test_identical_gradients_give_that_gradient_times_the_methods_scale(name):
    direction = make(name).aggregate(tf.constant(np.stack([G] * NUM_TASKS))).numpy()
    np.testing.assert_allclose(direction, IDENTICAL_FACTOR[name] * G, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_one_task_moves_along_its_gradient(name):
    direction = make(name).aggregate(tf.constant(G[None])).numpy()
    factor = float(direction @ G) / G_NORM**2
    assert factor > 0
    np.testing.assert_allclose(direction, factor * G, rtol=1e-5, atol=1e-6)


DEGENERATE = {
    "a task without a gradient": np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 1.0]]),
    "all zero": np.zeros((3, 3)),
    "more tasks than dimensions": np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, 1.0]]),
    "opposite gradients": np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]),
    "scales 1e-6 and 1e3": np.array([[1e-6, 2e-6, 0.0], [0.0, 1e3, -1e3]]),
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("name", METHODS)
def test_degenerate_matrices_give_finite_directions_and_weights(name, case):
    grads = tf.constant(DEGENERATE[case], tf.float32)
    balancer = make(name)
    direction = balancer.aggregate(grads)
    weights = balancer.implied_weights(grads, direction).numpy()
    assert np.isfinite(direction.numpy()).all() and np.isfinite(weights).all()
    if case == "all zero":
        np.testing.assert_array_equal(direction.numpy(), 0.0)


@pytest.mark.parametrize("name", sorted(set(METHODS) - {"graddrop"}))
def test_a_task_without_a_gradient_gets_weight_0_and_the_direction_is_their_weighted_sum(name):
    grads = tf.constant(DEGENERATE["a task without a gradient"], tf.float32)
    balancer = make(name)
    assert isinstance(balancer, GradientWeighting)
    direction = balancer.aggregate(grads)
    weights = balancer.implied_weights(grads, direction).numpy()
    assert weights[1] == 0.0
    np.testing.assert_allclose(direction.numpy(), weights @ grads.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", METHODS)
def test_the_compiled_step_gives_the_eager_result(name):
    grads = tf.constant(np.random.default_rng(4).normal(size=(4, 6)), tf.float32)
    eager = make(name, seed=3) if name in ("pcgrad", "graddrop") else make(name)
    compiled = make(name, seed=3) if name in ("pcgrad", "graddrop") else make(name)
    step = tf.function(lambda matrix: compiled.aggregate(matrix))
    for _ in range(2):
        np.testing.assert_allclose(step(grads).numpy(), eager.aggregate(grads).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_config_round_trip_and_options_checked(name):
    balancer = make(name, task_gradients="loop")
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(balancer))
    assert type(rebuilt) is type(balancer) and rebuilt.get_config() == balancer.get_config()
    assert rebuilt.task_gradients == "loop"
    with pytest.raises(ValueError, match="task_gradients"):
        make(name, task_gradients="sideways")
