"""PCGrad against a numpy transcription of the paper's Algorithm 1."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.pcgrad import PCGrad
from mtl_zoo.errors import OptionError
from mtl_zoo.tasks.task import Task


def pcgrad_reference(grads, orders):
    """Algorithm 1: each g_i visits the other tasks in orders[i], removing conflicting components."""
    projected = grads.astype("float64").copy()
    for i, order in enumerate(orders):
        for j in order:
            product = projected[i] @ grads[j]
            if product < 0:
                projected[i] -= product / (grads[j] @ grads[j]) * grads[j]
    return projected.sum(axis=0)


def every_outcome(grads):
    """The reference direction for every combination of per-task visiting orders."""
    num_tasks = len(grads)
    per_task = [list(itertools.permutations([j for j in range(num_tasks) if j != i])) for i in range(num_tasks)]
    return [pcgrad_reference(grads, orders) for orders in itertools.product(*per_task)]


def test_two_conflicting_gradients_lose_exactly_the_conflicting_component():
    g1, g2 = np.array([2.0, 1.0, 0.0]), np.array([-1.0, 0.5, 3.0])
    assert g1 @ g2 < 0
    expected = (g1 - (g1 @ g2) / (g2 @ g2) * g2) + (g2 - (g1 @ g2) / (g1 @ g1) * g1)
    direction = PCGrad().aggregate(tf.constant([g1, g2], tf.float32)).numpy()
    np.testing.assert_allclose(direction, expected, rtol=1e-6)
    # Each projected gradient is orthogonal to the other task's gradient.
    balancer = PCGrad()
    grads = tf.constant([g1, g2], tf.float32)
    weights = balancer.implied_weights(grads, balancer.aggregate(grads)).numpy()
    np.testing.assert_allclose(weights, [1 - (g1 @ g2) / (g1 @ g1), 1 - (g1 @ g2) / (g2 @ g2)], rtol=1e-6)


def test_non_conflicting_gradients_are_left_untouched():
    grads = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 0.0], [0.0, 0.2, 0.1]])
    assert (grads @ grads.T >= 0).all()
    np.testing.assert_allclose(PCGrad().aggregate(tf.constant(grads, tf.float32)).numpy(), grads.sum(0), rtol=1e-6)


def test_only_the_conflicting_pair_is_projected():
    grads = np.array([[1.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])  # only tasks 0 and 1 conflict
    g0, g1, g2 = grads
    expected = (g0 - (g0 @ g1) / (g1 @ g1) * g1) + (g1 - (g1 @ g0) / (g0 @ g0) * g0) + g2
    np.testing.assert_allclose(PCGrad().aggregate(tf.constant(grads, tf.float32)).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_three_tasks_give_the_reference_for_one_of_the_visiting_orders(seed):
    grads = np.random.default_rng(seed).normal(size=(3, 4))
    outcomes = every_outcome(grads)
    balancer = PCGrad(seed=seed)
    seen = set()
    for _ in range(12):
        direction = balancer.aggregate(tf.constant(grads, tf.float32)).numpy()
        distances = [np.abs(direction - outcome).max() for outcome in outcomes]
        assert min(distances) < 1e-5 * np.abs(grads).max(), distances
        seen.add(int(np.argmin(distances)))
    assert len(seen) > 1  # the order changes from step to step


def test_orders_are_reproducible_from_the_seed():
    grads = tf.constant(np.random.default_rng(9).normal(size=(4, 5)), tf.float32)

    def sequence(seed):
        balancer = PCGrad(seed=seed)
        balancer.build_for_tasks([Task(f"t{i}", "regression") for i in range(4)])
        return np.stack([balancer.aggregate(grads).numpy() for _ in range(8)])

    np.testing.assert_array_equal(sequence(1), sequence(1))
    assert not np.allclose(sequence(1), sequence(2))


@pytest.mark.parametrize("seed", [1.5, "1", True])
def test_seed_must_be_an_integer(seed):
    with pytest.raises(OptionError, match="integer seed") as error:
        PCGrad(seed=seed)
    assert error.value.option == "seed"
