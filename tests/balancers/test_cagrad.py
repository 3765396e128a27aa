"""CAGrad against its primal problem solved by scipy, and c = 0 against the mean."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import minimize

from mtl_zoo.balancers.cagrad import CAGrad
from mtl_zoo.errors import OptionError


def cagrad_reference(grads, c):
    """max_d min_i g_i . d subject to |d - g0| <= c |g0| (SLSQP on (d, t)), rescaled by 1 / (1 + c^2)."""
    dim = grads.shape[1]
    mean = grads.mean(axis=0)
    scale = mean @ mean
    radius = c * np.sqrt(scale)
    constraints = [
        {"type": "ineq", "fun": lambda z: (grads @ z[:dim] - z[dim]) / scale},
        {"type": "ineq", "fun": lambda z: (radius**2 - (z[:dim] - mean) @ (z[:dim] - mean)) / scale},
    ]
    # SLSQP from several starting points; the best solution that succeeded (a single
    # start can stop on a line-search failure depending on the platform's BLAS).
    rng = np.random.default_rng(0)
    starts = [mean] + [mean + radius * 0.5 * unit / np.linalg.norm(unit) for unit in rng.normal(size=(4, dim))]
    solutions = []
    for start in starts:
        result = minimize(lambda z: -z[dim] / scale, np.append(start, (grads @ start).min()),
                          constraints=constraints, method="SLSQP", options={"ftol": 1e-15, "maxiter": 2000})
        if result.success:
            solutions.append(result.x)
    assert solutions, "SLSQP failed from every starting point"
    best = max(solutions, key=lambda z: (grads @ z[:dim]).min())
    return best[:dim] / (1 + c**2)


def test_c_0_is_the_mean_gradient():
    grads = np.random.default_rng(0).normal(size=(4, 5))
    direction = CAGrad(c=0.0).aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(direction, grads.mean(axis=0), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("c", [0.1, 0.4, 0.8])
@pytest.mark.parametrize("seed", range(3))
def test_direction_solves_the_papers_problem(seed, c):
    rng = np.random.default_rng(seed)
    grads = (rng.normal(size=(3, 6)) * rng.choice([1.0, 3.0], size=(3, 1))).astype("float32").astype("float64")
    direction = CAGrad(c=c).aggregate(tf.constant(grads, tf.float32)).numpy()
    reference = cagrad_reference(grads, c)
    np.testing.assert_allclose(direction, reference, atol=2e-4 * np.linalg.norm(reference))
    # The unscaled direction sits on the ball around the mean gradient.
    mean = grads.mean(axis=0)
    assert np.linalg.norm(direction * (1 + c**2) - mean) == pytest.approx(c * np.linalg.norm(mean), rel=1e-3)


def test_non_conflicting_gradients_still_lean_toward_the_weakest_task():
    grads = np.array([[4.0, 0.0], [0.0, 1.0]])
    direction = CAGrad(c=0.5).aggregate(tf.constant(grads, tf.float32)).numpy()
    mean = grads.mean(axis=0)
    assert (grads @ direction).min() > (grads @ mean).min() / (1 + 0.5**2)
    np.testing.assert_allclose(direction, cagrad_reference(grads, 0.5), atol=1e-4)


@pytest.mark.parametrize("c", [-0.1, 1.0, 2.0, float("nan"), "0.4", True])
def test_c_must_be_in_0_1(c):
    with pytest.raises(OptionError, match="0 <= c < 1") as error:
        CAGrad(c=c)
    assert error.value.option == "c"
