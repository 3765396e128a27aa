"""The Pareto front over tasks against a hand-made table."""

import pytest

from mtl_zoo.tuning.pareto import dominates, pareto_flags

# Hand-made: accuracy (max) and rmse (min) per trial; the front worked out by hand.
TABLE = [
    ({"digit": 0.90, "price": 0.50}, True),   # best digit
    ({"digit": 0.85, "price": 0.30}, True),   # a trade-off
    ({"digit": 0.80, "price": 0.20}, True),   # best price
    ({"digit": 0.84, "price": 0.30}, False),  # beaten by trial 1 on digit, tied on price
    ({"digit": 0.70, "price": 0.60}, False),  # beaten by everything
    ({"digit": 0.90, "price": 0.50}, True),   # a copy of trial 0: neither beats the other
]
DIRECTIONS = {"digit": "max", "price": "min"}


def test_front_of_a_hand_made_table():
    rows = [row for row, _ in TABLE]
    assert pareto_flags(rows, DIRECTIONS) == [flag for _, flag in TABLE]


def test_direction_matters():
    rows = [{"a": 1.0}, {"a": 2.0}]
    assert pareto_flags(rows, {"a": "max"}) == [False, True]
    assert pareto_flags(rows, {"a": "min"}) == [True, False]


def test_dominance_needs_one_strict_improvement():
    assert not dominates({"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 1.0}, {"a": "max", "b": "max"})
    assert dominates({"a": 1.0, "b": 1.1}, {"a": 1.0, "b": 1.0}, {"a": "max", "b": "max"})


def test_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="Received: directions"):
        pareto_flags([{"a": 1.0}], {"a": "up"})
