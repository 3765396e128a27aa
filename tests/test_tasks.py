"""Task specs: kind defaults, validation, config round trip."""

import pytest

from mtl_zoo.tasks import Task, check_unique_names


@pytest.mark.parametrize(
    "kind, loss, metrics, units",
    [
        ("classification", "sparse_categorical_crossentropy", ("accuracy",), 10),
        ("binary", "binary_crossentropy", ("accuracy", "auc"), 1),
        ("multilabel", "binary_crossentropy", ("accuracy", "auc"), 10),
        ("regression", "mean_squared_error", ("mae",), 10),
    ],
)
def test_kind_supplies_defaults(kind, loss, metrics, units):
    task = Task("t", kind=kind, classes=1 if kind == "binary" else 10)
    assert (task.loss, task.metrics, task.units) == (loss, metrics, units)


def test_explicit_values_win_over_kind_defaults():
    task = Task("price", "regression", loss="huber", metrics=["rmse"], loss_weight=0.5)
    assert (task.loss, task.metrics, task.loss_weight) == ("huber", ("rmse",), 0.5)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(name="2bad", kind="regression"), "Python identifier"),
        (dict(name="t", kind="ranking"), "Unknown task kind 'ranking'; available: binary, classification"),
        (dict(name="t", kind="classification", classes=1), "classes >= 2"),
        (dict(name="t", kind="binary", classes=3), "exactly 1 output"),
        (dict(name="t", kind="regression", loss_weight=-1.0), "loss_weight >= 0"),
    ],
)
def test_invalid_tasks_raise_with_the_value(arguments, message):
    with pytest.raises(ValueError, match=message):
        Task(**arguments)


def test_config_round_trip():
    task = Task("tags", "multilabel", classes=5, metrics=["auc"], head_units=[8])
    assert Task.from_config(task.get_config()) == task


def test_duplicate_task_names_are_refused():
    with pytest.raises(ValueError, match="repeated: a"):
        check_unique_names([Task("a", "regression"), Task("a", "binary")])
