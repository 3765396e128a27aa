"""IMTL-G: equal projections onto the unit task gradients; the paper's closed form in numpy."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.imtl import IMTLG


def imtl_closed_form(grads):
    """Liu et al. 2021, Eq. 8: alpha_{2:K} = g_1 U^T (D U^T)^-1, alpha_1 = 1 - sum alpha_{2:K}."""
    units = grads / np.linalg.norm(grads, axis=1, keepdims=True)
    differences = grads[:1] - grads[1:]
    unit_differences = units[:1] - units[1:]
    rest = grads[0] @ unit_differences.T @ np.linalg.inv(differences @ unit_differences.T)
    return np.concatenate([[1 - rest.sum()], rest])


@pytest.mark.parametrize("num_tasks", [2, 3, 5])
def test_projections_onto_every_unit_gradient_are_equal(num_tasks):
    rng = np.random.default_rng(num_tasks)
    grads = rng.normal(size=(num_tasks, 8)) * rng.choice([0.1, 1.0, 5.0], size=(num_tasks, 1))
    direction = IMTLG().aggregate(tf.constant(grads, tf.float32)).numpy()
    projections = grads / np.linalg.norm(grads, axis=1, keepdims=True) @ direction
    np.testing.assert_allclose(projections, projections[0], rtol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_weights_are_the_papers_closed_form(seed):
    rng = np.random.default_rng(seed + 20)
    grads = (rng.normal(size=(4, 6)) * rng.choice([0.3, 1.0, 3.0], size=(4, 1))).astype("float32").astype("float64")
    balancer = IMTLG()
    matrix = tf.constant(grads, tf.float32)
    weights = balancer.implied_weights(matrix, balancer.aggregate(matrix)).numpy()
    np.testing.assert_allclose(weights, imtl_closed_form(grads), rtol=1e-4, atol=1e-5)
    assert weights.sum() == pytest.approx(1.0, rel=1e-5)


def test_gradients_of_different_norms_are_treated_impartially():
    grads = np.array([[10.0, 0.0], [0.0, 0.1]])
    direction = IMTLG().aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(direction[0], direction[1], rtol=1e-5)  # equal projections on (1,0), (0,1)
