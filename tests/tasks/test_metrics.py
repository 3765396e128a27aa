"""Per-task metrics ignore missing labels and are named after their task."""

import numpy as np
import pytest

from mtl_zoo.tasks.metrics import make_metric, make_task_metrics, update_task_metrics
from mtl_zoo.tasks.task import Task


def test_accuracy_counts_observed_labels_only():
    task = Task("digit", "classification", 3)
    metrics = make_task_metrics(task)
    predictions = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    labels = np.array([0, 2, 2, -1])
    update_task_metrics(metrics, task, labels, predictions)
    assert metrics[0].name == "digit_accuracy"
    assert float(metrics[0].result()) == pytest.approx(2 / 3)


def test_regression_mae_ignores_nan():
    task = Task("price", "regression", classes=2)
    metrics = make_task_metrics(task)
    update_task_metrics(
        metrics, task, np.array([[1.0, np.nan], [np.nan, 4.0]]), np.array([[2.0, 9.0], [9.0, 1.0]])
    )
    assert float(metrics[0].result()) == pytest.approx((1.0 + 3.0) / 2)


@pytest.mark.parametrize(
    "metric, kind, class_name",
    [
        ("accuracy", "classification", "SparseCategoricalAccuracy"),
        ("accuracy", "binary", "BinaryAccuracy"),
        ("top_3_accuracy", "classification", "SparseTopKCategoricalAccuracy"),
        ("auc", "binary", "AUC"),
        ("rmse", "regression", "RootMeanSquaredError"),
    ],
)
def test_metric_names_resolve_per_kind(metric, kind, class_name):
    task = Task("t", kind, classes=1 if kind != "classification" else 5)
    assert type(make_metric(metric, task)).__name__ == class_name


def test_keras_metric_names_build_one_fresh_metric_each():
    task = Task("t", "binary", metrics=["binary_accuracy"])
    metric = make_metric("binary_accuracy", task)
    assert type(metric).__name__ == "BinaryAccuracy" and metric.name == "t_binary_accuracy"
    metric.update_state(np.array([[1.0], [0.0]]), np.array([[0.9], [0.9]]))
    assert float(metric.result()) == pytest.approx(0.5)


def test_a_metric_that_cannot_score_the_kind_is_refused():
    with pytest.raises(ValueError, match="metric 'auc' cannot score a 'classification' task"):
        make_metric("auc", Task("digit", "classification", 10))


def test_unknown_metric_names_the_task():
    with pytest.raises(ValueError, match="Task 't': unknown metric 'accurasy'"):
        make_metric("accurasy", Task("t", "binary"))
