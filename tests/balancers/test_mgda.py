"""MGDA: the min-norm point of the convex hull, against the two-task closed form and scipy."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import minimize

from mtl_zoo.balancers.mgda import MGDA


def two_task_closed_form(g1, g2):
    """Sener & Koltun, Algorithm 1 (two tasks): gamma on g1, clipped to [0, 1]."""
    gamma = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0.0, 1.0)
    return gamma * g1 + (1 - gamma) * g2


def scipy_min_norm(grads):
    """min |w @ grads|^2 over the simplex, by SLSQP from the centre and every vertex."""
    num_tasks = len(grads)
    gram = grads @ grads.T / np.mean(np.diag(grads @ grads.T))
    results = [
        minimize(lambda w: w @ gram @ w, start, jac=lambda w: 2 * gram @ w, bounds=[(0, 1)] * num_tasks,
                 constraints={"type": "eq", "fun": lambda w: w.sum() - 1}, method="SLSQP",
                 options={"ftol": 1e-15, "maxiter": 1000})
        for start in [np.full(num_tasks, 1 / num_tasks)] + list(np.eye(num_tasks))
    ]
    return min(results, key=lambda result: result.fun).x @ grads


PAIRS = {
    "interior": ([1.0, 0.0, 0.0], [0.0, 2.0, 0.0]),
    "conflicting": ([1.0, 1.0, 0.0], [-1.0, 0.2, 0.5]),
    "g1 inside the ball: gamma = 1": ([0.1, 0.1, 0.0], [1.0, 2.0, 0.0]),
    "g2 shorter: gamma = 0": ([3.0, 1.0, 0.0], [0.2, 0.0, 0.0]),
}


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_two_tasks_follow_the_closed_form(pair):
    g1, g2 = (np.array(g) for g in PAIRS[pair])
    direction = MGDA().aggregate(tf.constant([g1, g2], tf.float32)).numpy()
    np.testing.assert_allclose(direction, two_task_closed_form(g1, g2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_three_tasks_give_the_min_norm_point_scipy_finds(seed):
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(3, 6)) * rng.choice([0.5, 1.0, 4.0], size=(3, 1))
    direction = MGDA().aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(direction, scipy_min_norm(grads.astype("float32").astype("float64")),
                               atol=1e-5 * np.linalg.norm(grads, axis=1).min())
    # Optimality of the min-norm point d: g_t . d >= |d|^2 for every task (no task's loss increases).
    assert (grads @ direction >= (direction @ direction) * (1 - 1e-4)).all()


def test_zero_in_the_hull_gives_no_update():
    grads = np.array([[1.0, 0.0], [-1.0, 1.0], [0.0, -2.0]])  # (2 g1 + 2 g2 + g3) / 5 = 0
    direction = MGDA().aggregate(tf.constant(grads, tf.float32)).numpy()
    assert np.linalg.norm(direction) < 1e-4


def test_a_task_without_a_gradient_is_left_out_of_the_hull():
    g1, g3 = np.array([1.0, 1.0, 0.0]), np.array([-1.0, 0.2, 0.5])
    grads = np.stack([g1, np.zeros(3), g3])
    direction = MGDA().aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(direction, two_task_closed_form(g1, g3), rtol=1e-5, atol=1e-6)
