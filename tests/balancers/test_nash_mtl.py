"""Nash-MTL: the weights solve G G^T a = 1 / a (the bargaining solution's optimality condition)."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.nash_mtl import NashMTL


def weights_of(grads):
    return NashMTL().task_weights(tf.constant(grads, tf.float32)).numpy()


@pytest.mark.parametrize("num_tasks", [2, 3, 4, 6])
def test_weights_satisfy_the_optimality_condition(num_tasks):
    rng = np.random.default_rng(num_tasks)
    grads = (rng.normal(size=(num_tasks, 10)) * rng.choice([0.1, 1.0, 10.0], size=(num_tasks, 1)))
    grads = grads.astype("float32").astype("float64")
    weights = weights_of(grads)
    assert (weights > 0).all()
    np.testing.assert_allclose(grads @ grads.T @ weights, 1 / weights, rtol=1e-5)


def test_orthogonal_gradients_get_the_inverse_of_their_norms():
    grads = np.array([[3.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_allclose(weights_of(grads), [1 / 3.0, 2.0, 0.5], rtol=1e-6)


def test_every_task_improves_by_1_over_its_weight_and_scaling_a_task_changes_only_its_weight():
    rng = np.random.default_rng(7)
    grads = rng.normal(size=(3, 5))
    grads[1] = np.abs(grads[1]) * np.sign(grads[0])  # some agreement, so no Pareto-stationary point
    weights = weights_of(grads)
    direction = NashMTL().aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(grads @ direction, 1 / weights, rtol=1e-4)
    scaled = grads * np.array([[1.0], [100.0], [1.0]])
    np.testing.assert_allclose(weights_of(scaled), weights / np.array([1.0, 100.0, 1.0]), rtol=1e-4)
    np.testing.assert_allclose(NashMTL().aggregate(tf.constant(scaled, tf.float32)).numpy(), direction, rtol=1e-4)
