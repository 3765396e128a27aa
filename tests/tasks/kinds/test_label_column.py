"""A task kind owns how one column of a file becomes its labels (`mtl_zoo.tasks.kinds.label_column`)."""

import re

import numpy as np
import pytest

from mtl_zoo.errors import DataError
from mtl_zoo.registry import TASK_KINDS
from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.tasks.kinds.label_column import COLUMN_RULES

WHERE = "a.csv: column 'y' (tasks[0].name)"


class Cells:
    """The cells protocol a rule reads through, over a plain list (None = empty cell): no pandas."""

    where = WHERE

    def __init__(self, values):
        self.values = values

    def numbers(self, expected):
        return np.array([np.nan if value is None else float(value) for value in self.values])

    def class_indices(self, vocabulary, evaluation=False):
        return np.array([-1 if value is None else vocabulary.index(value) for value in self.values])

    def refuse(self, mask, problem):
        if mask.any():
            raise DataError(f"{self.where}: {problem}")

    def check_float32(self, values, fix):
        pass


def test_every_registered_kind_names_a_column_rule_or_none():
    for name in TASK_KINDS.names():
        column = TASK_KINDS.get(name).column
        assert column is None or column in COLUMN_RULES, name


def test_a_kind_with_an_unknown_column_rule_is_refused():
    with pytest.raises(ValueError, match="column must be one of class_index, binary, number or None"):
        TaskKind("odd", "", "linear", "mse", (), ("mse",), (), "float32", "nan", False, column="date")


@pytest.mark.parametrize("kind, cells, vocabulary, expected", [
    ("classification", [2, None, 0], None, [2, -1, 0]),
    ("classification", ["b", None, "a"], ("a", "b", "c"), [1, -1, 0]),
    ("binary", [1, None, 0.5], None, [1.0, np.nan, 0.5]),
    ("binary", ["yes", "no"], ("no", "yes"), [1.0, 0.0]),
    ("regression", [-3.5, None], None, [-3.5, np.nan]),
])
def test_kinds_read_their_labels_from_one_column(kind, cells, vocabulary, expected):
    kind = TASK_KINDS.get(kind)
    classes = kind.check_label_column(3 if kind.name == "classification" else 1, vocabulary, WHERE, "the train split")
    labels = kind.column_labels(Cells(cells), classes, vocabulary)
    assert labels.dtype == np.dtype(kind.label_dtype)
    np.testing.assert_array_equal(labels, np.array(expected, dtype=kind.label_dtype))


@pytest.mark.parametrize("kind, classes, vocabulary, cells, message", [
    ("multilabel", 2, None, [1], "a multilabel task cannot read its labels from one column"),
    ("regression", 2, None, [1], "a regression task reading one column has one output unit; set classes to 1"),
    ("classification", 2, ("a", "b", "c"), ["a"], "3 classes in the train split (a, b, c), more than the task's 2"),
    ("binary", 1, ("a", "b", "c"), ["a"], "a binary label takes two values"),
    ("classification", 2, None, [0, 2], "class indices must be whole numbers from 0 to 1"),
    ("binary", 1, None, [2], "binary labels are 0 or 1"),
    ("regression", 1, None, [float("inf")], "regression labels must be finite numbers"),
])
def test_kinds_refuse_a_column_that_does_not_fit(kind, classes, vocabulary, cells, message):
    kind = TASK_KINDS.get(kind)
    with pytest.raises(DataError, match=re.escape(message)):
        classes = kind.check_label_column(classes, vocabulary, WHERE, "the train split")
        kind.column_labels(Cells(cells), classes, vocabulary)
