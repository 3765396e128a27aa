"""The gradient balancers' shared math, against numpy and scipy."""

import importlib
import pkgutil

import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import minimize

from mtl_zoo.balancers.gradient_math import (
    combine, gram_matrix, quadratic_program, scaled_gram,
)
from mtl_zoo.balancers.pcgrad import PCGrad
from mtl_zoo.balancers.graddrop import GradDrop
from mtl_zoo.errors import OptionError
import mtl_zoo.balancers


def random_gradients(seed, num_tasks, dim, scales=(1.0, 10.0)):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(num_tasks, dim)) * rng.choice(scales, size=(num_tasks, 1))).astype("float32")


def scipy_quadratic_program(gram, linear, simplex):
    """SLSQP from the uniform point and every vertex; the best solution."""
    num_tasks = len(gram)
    constraints = [{"type": "eq", "fun": lambda x: x.sum() - 1, "jac": lambda x: np.ones(num_tasks)}] if simplex else []
    starts = [np.full(num_tasks, 1 / num_tasks)] + list(np.eye(num_tasks))
    results = [
        minimize(lambda x: 0.5 * x @ gram @ x + linear @ x, start, jac=lambda x: gram @ x + linear,
                 bounds=[(0, None)] * num_tasks, constraints=constraints, method="SLSQP",
                 options={"ftol": 1e-15, "maxiter": 1000})
        for start in starts
    ]
    return min(results, key=lambda result: result.fun).x


def test_gram_matrix_is_the_inner_products_in_float64():
    grads = random_gradients(0, 4, 9)
    gram = gram_matrix(tf.constant(grads))
    assert gram.dtype == tf.float64
    expected = grads.astype("float64") @ grads.astype("float64").T
    np.testing.assert_allclose(gram.numpy(), expected, rtol=1e-12)


def test_gram_matrix_of_non_finite_gradients_stays_finite():
    grads = random_gradients(1, 3, 5)
    grads[1, 2] = np.nan
    gram = gram_matrix(tf.constant(grads)).numpy()
    assert np.isfinite(gram).all() and gram[0, 0] > 0


def test_scaled_gram_has_unit_mean_diagonal_and_leaves_zero_alone():
    gram = gram_matrix(tf.constant(random_gradients(2, 3, 6)))
    assert np.mean(np.diag(scaled_gram(gram).numpy())) == pytest.approx(1.0)
    np.testing.assert_array_equal(scaled_gram(tf.zeros([2, 2], tf.float64)).numpy(), np.zeros((2, 2)))


def test_combine_is_the_weighted_sum_of_rows():
    grads = random_gradients(3, 3, 4)
    weights = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(combine(tf.constant(weights), tf.constant(grads)).numpy(), weights @ grads, rtol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_min_norm_point_of_the_convex_hull_matches_scipy(seed):
    """simplex=True, linear=0: the weights of the min-norm point (MGDA's problem)."""
    grads = random_gradients(seed, 2 + seed % 4, 7).astype("float64")
    gram = grads @ grads.T
    scale = np.mean(np.diag(gram))
    no_linear_term = tf.zeros([1, len(grads)], tf.float64)
    weights = quadratic_program(scaled_gram(tf.constant(gram)), no_linear_term, simplex=True).numpy()[0]
    assert weights.sum() == pytest.approx(1.0, abs=1e-9) and (weights >= 0).all()
    reference = scipy_quadratic_program(gram / scale, np.zeros(len(grads)), simplex=True)
    np.testing.assert_allclose(weights @ grads, reference @ grads, atol=1e-5 * np.linalg.norm(grads, axis=1).min())


@pytest.mark.parametrize("seed", range(6))
def test_non_negative_programs_in_a_batch_match_scipy(seed):
    """simplex=False with one linear term per row: each row its own problem (UPGrad's problems)."""
    grads = random_gradients(seed + 10, 2 + seed % 4, 7).astype("float64")
    gram = grads @ grads.T / np.mean(np.diag(grads @ grads.T))
    linear = np.random.default_rng(seed).normal(size=(3, len(grads)))
    solutions = quadratic_program(tf.constant(gram), tf.constant(linear), simplex=False).numpy()
    assert solutions.shape == linear.shape and (solutions >= 0).all()
    for row, solution in zip(linear, solutions):
        reference = scipy_quadratic_program(gram, row, simplex=False)
        objective = lambda x: 0.5 * x @ gram @ x + row @ x  # noqa: E731
        assert objective(solution) <= objective(reference) + 1e-7
        np.testing.assert_allclose(solution @ grads, reference @ grads, atol=1e-4 * np.abs(grads).max())


def test_step_seeds_advance_a_counter_and_depend_on_the_seed():
    layer = PCGrad(seed=5)
    first, second = layer.step_seed().numpy(), layer.step_seed().numpy()
    assert first.tolist() == [5, 0] and second.tolist() == [5, 1] and int(layer.step.numpy()) == 2
    assert layer.step.trainable is False and [v.path for v in layer.weights].count(layer.step.path) == 1


@pytest.mark.parametrize("seed", [1.5, True, "3"])
def test_a_seed_that_is_not_an_integer_is_refused(seed):
    with pytest.raises(OptionError, match=r"GradDrop needs an integer seed. Received: seed="):
        GradDrop(seed=seed)


# === The XLA-compiled solvers take the Gram matrix as an input, so one compilation serves every step ===

GRAM = tf.constant([[1.0, 0.2, -0.3], [0.2, 2.0, 0.1], [-0.3, 0.1, 1.5]], tf.float64)
ORDERS = tf.constant([[1, 2, 0], [0, 2, 1], [1, 0, 2]])
SOLVER_ARGUMENTS = {  # module.function -> tensor arguments (then Python ones)
    "aligned_mtl.alignment_matrix": ((GRAM,), ()),
    "cagrad.conflict_averse_weights": ((GRAM,), (0.4,)),
    "gradient_math.quadratic_program": ((GRAM, tf.ones([4, 3], tf.float64)), (True, 30)),
    "imtl.impartial_weights": ((GRAM,), ()),
    "mgda.min_norm_weights": ((GRAM,), ()),
    "nash_mtl.bargaining_weights": ((GRAM,), ()),
    "pcgrad.projection_weights": ((GRAM, ORDERS), ()),
    "upgrad.projection_weights": ((GRAM,), ()),
}


def compiled_solvers() -> dict:
    solvers = {}
    for module_info in pkgutil.iter_modules(mtl_zoo.balancers.__path__):
        module = importlib.import_module(f"mtl_zoo.balancers.{module_info.name}")
        for name, value in vars(module).items():
            if getattr(value, "_jit_compile", False) and value.__module__ == module.__name__:
                solvers[f"{module_info.name}.{name}"] = value
    return solvers


def test_every_compiled_solver_is_in_the_table():
    assert sorted(compiled_solvers()) == sorted(SOLVER_ARGUMENTS)


@pytest.mark.parametrize("name", sorted(SOLVER_ARGUMENTS))
def test_compiled_solver_reads_its_tensor_arguments_at_run_time(name):
    # A value-dependent Python slice (x[index]) makes XLA bake the argument into the program as a
    # constant: a new compilation (seconds) on every training step. Its inputs must stay parameters.
    tensors, constants = SOLVER_ARGUMENTS[name]
    hlo = compiled_solvers()[name].experimental_get_compiler_ir(*tensors, *constants)(stage="hlo")
    entry = hlo[hlo.index("ENTRY"):]
    entry = entry[:entry.index("\n}")]
    assert entry.count(" parameter(") == len(tensors), entry[:2000]
