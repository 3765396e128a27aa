"""The Pareto front over tasks: the trials no other trial beats on every task.

Trial `a` dominates trial `b` when `a` is at least as good as `b` on every
task and strictly better on at least one (each task in its own metric's
direction). The front is the set of trials no trial dominates: the
trade-offs between tasks a search found, whatever weights the objective gives
them.

Example:

>>> rows = [{"a": 0.9, "b": 0.5}, {"a": 0.8, "b": 0.7}, {"a": 0.7, "b": 0.6}]
>>> pareto_flags(rows, {"a": "max", "b": "max"})
[True, True, False]
"""

from __future__ import annotations


def dominates(first: dict, second: dict, directions: dict) -> bool:
    """Whether `first` is at least as good on every task and better on one.

    Args:
        first: dict. Task name -> value.
        second: dict. Task name -> value.
        directions: dict. Task name -> "max" or "min".

    Example:

    >>> dominates({"loss": 0.1}, {"loss": 0.2}, {"loss": "min"})
    True
    """
    better = False
    for task, direction in directions.items():
        a, b = (first[task], second[task]) if direction == "max" else (-first[task], -second[task])
        if a < b:
            return False
        better = better or a > b
    return better


def pareto_flags(rows: list, directions: dict) -> list:
    """For each row, whether no other row dominates it.

    Args:
        rows: list of dict. Task name -> value, one dict per trial.
        directions: dict. Task name -> "max" or "min".

    Returns:
        list of bool, in the order of `rows`.
    """
    for direction in directions.values():
        if direction not in ("max", "min"):
            raise ValueError(f"A direction is 'max' or 'min'. Received: directions={directions}")
    return [not any(dominates(other, row, directions) for other in rows if other is not row) for row in rows]
