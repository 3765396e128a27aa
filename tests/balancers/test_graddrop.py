"""GradDrop: per coordinate, the positive or the negative task gradients, chosen with the sign purity."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.balancers.graddrop import GradDrop
from mtl_zoo.errors import OptionError

GRADS = np.array([[1.0, -2.0, 3.0, 0.5, 0.0], [-3.0, -1.0, 1.0, -0.5, 0.0], [1.0, 1.0, -2.0, 0.5, 0.0]], "float32")
POSITIVE = np.where(GRADS > 0, GRADS, 0).sum(axis=0)
NEGATIVE = np.where(GRADS < 0, GRADS, 0).sum(axis=0)
PURITY = 0.5 * (1 + GRADS.sum(0) / np.where(np.abs(GRADS).sum(0) > 0, np.abs(GRADS).sum(0), 1))


def directions(balancer, steps):
    return np.stack([balancer.aggregate(tf.constant(GRADS)).numpy() for _ in range(steps)])


def test_each_coordinate_keeps_the_positive_or_the_negative_gradients():
    for direction in directions(GradDrop(seed=0), 20):
        assert np.all(np.isclose(direction, POSITIVE) | np.isclose(direction, NEGATIVE))


def test_positive_gradients_are_kept_with_the_sign_purity_probability():
    """E[direction] = P * (sum of positive parts) + (1 - P) * (sum of negative parts)."""
    samples = directions(GradDrop(seed=3), 2000)
    kept_positive = np.isclose(samples, POSITIVE).mean(axis=0)
    informative = POSITIVE != NEGATIVE
    np.testing.assert_allclose(kept_positive[informative], PURITY[informative], atol=0.04)  # 3.5 standard errors
    np.testing.assert_allclose(samples.mean(0), PURITY * POSITIVE + (1 - PURITY) * NEGATIVE, atol=0.15)


def test_agreeing_signs_and_leak_1_keep_everything():
    agreeing = (np.abs(GRADS) * np.array([1, -1, 1, 1, 1])).astype("float32")
    direction = GradDrop().aggregate(tf.constant(agreeing)).numpy()
    np.testing.assert_allclose(direction, agreeing.sum(0), rtol=1e-6)
    np.testing.assert_allclose(GradDrop(leak=1.0).aggregate(tf.constant(GRADS)).numpy(), GRADS.sum(0), rtol=1e-6)


def test_leak_mixes_the_sum_and_the_masked_sum():
    masked = GradDrop(seed=4).aggregate(tf.constant(GRADS)).numpy()
    leaky = GradDrop(seed=4, leak=0.25).aggregate(tf.constant(GRADS)).numpy()
    np.testing.assert_allclose(leaky, 0.25 * GRADS.sum(0) + 0.75 * masked, rtol=1e-5, atol=1e-6)


def test_draws_are_reproducible_from_the_seed():
    np.testing.assert_array_equal(directions(GradDrop(seed=1), 10), directions(GradDrop(seed=1), 10))
    assert not np.array_equal(directions(GradDrop(seed=1), 10), directions(GradDrop(seed=2), 10))


@pytest.mark.parametrize("option, value", [("leak", -0.1), ("leak", 1.5), ("leak", "0.5"), ("seed", 0.5)])
def test_options_are_checked(option, value):
    with pytest.raises(OptionError) as error:
        GradDrop(**{option: value})
    assert error.value.option == option
