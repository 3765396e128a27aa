"""UPGrad: the mean of the task gradients' projections onto the dual cone, against scipy."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import minimize

from mtl_zoo.balancers.upgrad import UPGrad


def dual_cone_projection(grads, vector):
    """argmin |x - vector|^2 subject to grads @ x >= 0, by SLSQP in the primal."""
    scale = vector @ vector
    result = minimize(lambda x: (x - vector) @ (x - vector) / scale, vector, jac=lambda x: 2 * (x - vector) / scale,
                      constraints={"type": "ineq", "fun": lambda x: grads @ x, "jac": lambda x: grads},
                      method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    return result.x


@pytest.mark.parametrize("seed", range(6))
def test_direction_conflicts_with_no_task(seed):
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(2 + seed % 4, 6)) * rng.choice([0.1, 1.0, 10.0], size=(2 + seed % 4, 1))
    direction = UPGrad().aggregate(tf.constant(grads, tf.float32)).numpy()
    assert (grads @ direction >= -1e-6 * np.linalg.norm(grads, axis=1) * np.linalg.norm(direction)).all()


@pytest.mark.parametrize("seed", range(4))
def test_direction_is_the_mean_projection_onto_the_dual_cone(seed):
    rng = np.random.default_rng(seed + 30)
    grads = rng.normal(size=(3, 5)).astype("float32").astype("float64")
    expected = np.mean([dual_cone_projection(grads, g) for g in grads], axis=0)
    direction = UPGrad().aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(direction, expected, atol=1e-5 * np.abs(grads).max())


def test_without_conflicts_it_is_the_mean_gradient():
    grads = np.array([[1.0, 0.5, 0.0], [0.2, 1.0, 0.3], [0.0, 0.1, 2.0]])
    np.testing.assert_allclose(UPGrad().aggregate(tf.constant(grads, tf.float32)).numpy(), grads.mean(0), rtol=1e-6)


def test_two_conflicting_tasks_average_their_pcgrad_projections():
    g1, g2 = np.array([1.0, 1.0]), np.array([-1.0, 0.0])
    expected = ((g1 - (g1 @ g2) / (g2 @ g2) * g2) + (g2 - (g1 @ g2) / (g1 @ g1) * g1)) / 2
    np.testing.assert_allclose(UPGrad().aggregate(tf.constant([g1, g2], tf.float32)).numpy(), expected, rtol=1e-6)
