"""Task specs: kind defaults, validation, config round trip."""

import pytest

from mtl_zoo.errors import OptionError
from mtl_zoo.tasks.task import Task, check_unique_names


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
        (dict(name="t", kind="ranking"), "Unknown task kind 'ranking'; available: bbox, binary, classification"),
        (dict(name="t", kind="classification", classes=1), "classes >= 2"),
        (dict(name="t", kind="binary", classes=3), "exactly 1 output"),
        (dict(name="t", kind="regression", loss_weight=-1.0), "loss_weight >= 0"),
    ],
)
def test_invalid_tasks_raise_with_the_value(arguments, message):
    with pytest.raises(ValueError, match=message):
        Task(**arguments)


@pytest.mark.parametrize(
    "arguments, option, message",
    [
        (dict(kind="classification", classes=10, loss="mean_squared_error"), "loss",
         "Loss 'mean_squared_error' does not fit task 't' of kind 'classification'; use one of "
         "sparse_categorical_crossentropy. Received: loss='mean_squared_error'"),
        (dict(kind="regression", loss="binary_crossentropy"), "loss", "does not fit"),
        (dict(kind="binary", loss="sparse_categorical_crossentropy"), "loss", "does not fit"),
        (dict(kind="multilabel", classes=3, loss="categorical_crossentropy"), "loss", "does not fit"),
        (dict(kind="regression", loss="squared"), "loss", "Unknown loss 'squared'"),
        (dict(kind="regression", loss=""), "loss", "Unknown loss ''"),
        (dict(kind="classification", classes=10, metrics=["auc"]), "metrics",
         "metric 'auc' cannot score a 'classification' task"),
        (dict(kind="classification", classes=10, metrics=["precision"]), "metrics", "cannot score"),
        (dict(kind="classification", classes=10, metrics=["categorical_accuracy"]), "metrics", "cannot score"),
        (dict(kind="regression", metrics=["accuracy"]), "metrics", "cannot score"),
        (dict(kind="binary", metrics=["top_5_accuracy"]), "metrics", "cannot score"),
        (dict(kind="binary", metrics=["nonsense"]), "metrics", "unknown metric 'nonsense'"),
        (dict(kind="binary", metrics="auc"), "metrics", "list of metric names"),
        (dict(kind="binary", metrics=["auc", "auc"]), "metrics", "names a metric twice"),
        (dict(kind="regression", head_units=[8, 0]), "head_units", "positive integer head_units"),
        (dict(kind="regression", head_units=[True]), "head_units", "positive integer head_units"),
        (dict(kind="regression", loss_weight=float("nan")), "loss_weight", "finite loss_weight"),
        (dict(kind="classification", classes=True), "classes", "classes >= 2"),
    ],
)
def test_losses_metrics_and_sizes_must_fit_the_kind(arguments, option, message):
    with pytest.raises(OptionError) as error:
        Task("t", **arguments)
    assert error.value.option == option
    assert message in str(error.value) and "Received" in str(error.value)


@pytest.mark.parametrize(
    "arguments",
    [
        dict(kind="classification", classes=5, metrics=["acc", "top_3_accuracy", "sparse_categorical_accuracy"]),
        dict(kind="binary", loss="bce", metrics=["binary_accuracy", "AUC", "precision", "recall", "rmse"]),
        dict(kind="multilabel", classes=3, loss="binary_focal_crossentropy", metrics=["mean_absolute_error"]),
        dict(kind="regression", loss="Huber", metrics=["mape", "log_cosh_error"]),
    ],
)
def test_aliases_of_fitting_losses_and_metrics_are_accepted(arguments):
    Task("t", **arguments)


def test_config_round_trip():
    task = Task("tags", "multilabel", classes=5, metrics=["auc"], head_units=[8])
    assert Task.from_config(task.get_config()) == task


def test_duplicate_task_names_are_refused():
    with pytest.raises(ValueError, match="repeated: a"):
        check_unique_names([Task("a", "regression"), Task("a", "binary")])
