"""Aligned-MTL: aligned gradients have a perfectly conditioned Gram matrix; numpy SVD reference."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.aligned_mtl import AlignedMTL


def svd_reference(grads):
    """G = U S W^T: the aligned gradients are s_min U W^T, the direction their sum."""
    left, singular, right = np.linalg.svd(grads, full_matrices=False)
    return singular.min() * (left @ right).sum(axis=0)


@pytest.mark.parametrize("seed", range(4))
def test_direction_is_the_sum_of_the_aligned_gradients(seed):
    rng = np.random.default_rng(seed)
    grads = (rng.normal(size=(3, 7)) * rng.choice([0.2, 1.0, 5.0], size=(3, 1))).astype("float32").astype("float64")
    direction = AlignedMTL().aggregate(tf.constant(grads, tf.float32)).numpy()
    np.testing.assert_allclose(direction, svd_reference(grads), rtol=1e-4, atol=1e-6 * np.abs(grads).max())


@pytest.mark.parametrize("num_tasks", [2, 4])
def test_aligned_gradients_have_condition_number_1(num_tasks):
    """The paper's aim: the aligned system's Gram matrix is s_min^2 I (orthogonal, equal norms)."""
    rng = np.random.default_rng(num_tasks)
    grads = rng.normal(size=(num_tasks, 9)) * np.array([[0.1], [10.0], [1.0], [3.0]])[:num_tasks]
    original = np.linalg.cond(grads @ grads.T)
    aligned = AlignedMTL().alignment(tf.constant(grads, tf.float32)).numpy() @ grads
    gram = aligned @ aligned.T
    assert original > 10 and np.linalg.cond(gram) == pytest.approx(1.0, abs=1e-4)
    smallest = np.linalg.svd(grads, compute_uv=False).min()
    np.testing.assert_allclose(gram, smallest**2 * np.eye(num_tasks), atol=1e-4 * smallest**2)


def test_rank_deficient_gradients_are_aligned_in_the_span_they_have():
    g = np.array([1.0, 2.0, -1.0])
    grads = np.stack([g, 2 * g, np.array([0.0, 1.0, 2.0])])  # rank 2
    direction = AlignedMTL().aggregate(tf.constant(grads, tf.float32)).numpy()
    left, singular, right = np.linalg.svd(grads, full_matrices=False)
    kept = singular > 1e-6 * singular.max()
    expected = singular[kept].min() * (left[:, kept] @ right[kept]).sum(axis=0)
    np.testing.assert_allclose(direction, expected, rtol=1e-4, atol=1e-6)
