"""Masked per-task losses against numpy references."""

import numpy as np
import pytest

from mtl_zoo.tasks.losses import masked_task_loss, masked_task_loss_and_count
from mtl_zoo.tasks.task import Task

RNG = np.random.default_rng(0)


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_classification_skips_minus_one_labels():
    probabilities = softmax(RNG.normal(size=(6, 4))).astype("float32")
    labels = np.array([0, 3, -1, 2, -1, 1])
    observed = labels >= 0
    reference = -np.log(probabilities[observed.nonzero()[0], labels[observed]]).mean()
    loss, count = masked_task_loss_and_count(Task("c", "classification", 4), labels, probabilities)
    assert float(count) == 4
    assert float(loss) == pytest.approx(reference, rel=1e-5)


def test_regression_skips_nan_labels_and_is_mean_over_observed():
    predictions = RNG.normal(size=(5, 2)).astype("float32")
    labels = RNG.normal(size=(5, 2)).astype("float32")
    labels[1, 0] = labels[3, 1] = labels[4, :] = np.nan
    observed = ~np.isnan(labels)
    reference = ((predictions - np.nan_to_num(labels)) ** 2)[observed].mean()
    loss = masked_task_loss(Task("r", "regression", classes=2), labels, predictions)
    assert float(loss) == pytest.approx(reference, rel=1e-5)


def test_multilabel_masks_single_entries():
    predictions = np.array([[0.9, 0.2], [0.3, 0.6]], "float32")
    labels = np.array([[1.0, np.nan], [0.0, 1.0]], "float32")
    reference = -np.mean([np.log(0.9), np.log(0.7), np.log(0.6)])
    loss = masked_task_loss(Task("m", "multilabel", classes=2), labels, predictions)
    assert float(loss) == pytest.approx(reference, rel=1e-4)


def test_binary_accepts_flat_labels_and_sample_weights():
    predictions = np.array([[0.8], [0.4], [0.5]], "float32")
    labels = np.array([1.0, 0.0, np.nan], "float32")
    weights = np.array([2.0, 1.0, 5.0], "float32")
    reference = (-2.0 * np.log(0.8) - np.log(0.6)) / 2
    loss = masked_task_loss(Task("b", "binary"), labels, predictions, weights)
    assert float(loss) == pytest.approx(reference, rel=1e-4)


@pytest.mark.parametrize(
    "task, labels, predictions",
    [
        (Task("c", "classification", 3), np.full(4, -1), np.full((4, 3), 1 / 3, "float32")),
        (Task("r", "regression"), np.full((4, 1), np.nan, "float32"), np.ones((4, 1), "float32")),
    ],
)
def test_batch_without_labels_gives_zero_not_nan(task, labels, predictions):
    loss, count = masked_task_loss_and_count(task, labels, predictions)
    assert float(loss) == 0.0 and float(count) == 0.0


def test_unknown_loss_name_says_what_to_use():
    with pytest.raises(ValueError, match="Unknown loss 'squared'.*Received: loss='squared'"):
        masked_task_loss(Task("r", "regression", loss="squared"), np.ones((2, 1)), np.ones((2, 1)))
