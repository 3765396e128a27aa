"""How one column of a file becomes the labels of a task: the rule its kind follows.

A task kind whose labels fit in one column of a table names one of these
rules (`TaskKind.column`); `COLUMN_RULES` maps the names to them:

- "class_index" (classification): int32 class indices, -1 for an empty cell;
  the column holds indices `0..classes-1` or class names;
- "binary": float32 0/1 (probabilities in [0, 1] fit too), NaN for an empty
  cell; the column holds numbers or two class names;
- "number" (regression): float32 finite values, NaN for an empty cell; one
  output unit.

A rule checks a task against the column (`check`: its classes, the number of
class names found) and converts the column's cells (`labels`). It reads the
cells through an object the data layer hands it
(`mtl_zoo.data.tables.values.ColumnCells`), which turns them into numbers or
class indices and raises the one-line `DataError` that names the file, the
column and the first offending row, so this module needs no pandas.

Example:

>>> import numpy as np
>>> COLUMN_RULES["binary"].takes_names, COLUMN_RULES["number"].takes_names
(True, False)
>>> COLUMN_RULES["class_index"].from_class_indices(np.array([1, -1, 0])).tolist()
[1, -1, 0]
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from mtl_zoo.errors import DataError, listed


@dataclasses.dataclass(frozen=True)
class LabelColumnRule:
    """What one column of labels becomes for a kind; subclasses say how.

    Args:
        name: str. The rule's name (`TaskKind.column`).
        takes_names: bool. Whether the column may hold class names written
            as strings instead of numbers.
    """

    name: str
    takes_names: bool

    def check(self, kind: str, classes: int, vocabulary: Optional[tuple], where: str, origin: str,
              evaluation: bool = False) -> int:
        """Raises `DataError` if a task of kind `kind` with `classes` cannot read the column; returns its classes.

        Args:
            kind: str. The task's kind, for messages.
            classes: int. The task's `classes`.
            vocabulary: tuple or None. The class names found in the column,
                or None when it holds numbers.
            where: str. File and column, for messages.
            origin: str. Where the class names were found, for messages
                (e.g. "the train split (file)").
            evaluation: bool. The column is in a file a trained model is
                scored on (its class names fixed by the model). Defaults to
                False.

        Returns:
            The label's number of classes (output units), as `LabelSpec.classes`.
        """
        raise NotImplementedError

    def labels(self, kind: str, cells, classes: int, vocabulary: Optional[tuple],
               evaluation: bool = False) -> np.ndarray:
        """The column's labels; an empty cell becomes a missing label.

        Args:
            kind: str. The task's kind, for messages.
            cells: `mtl_zoo.data.tables.values.ColumnCells`. The column.
            classes: int. The label's classes (from `check`).
            vocabulary: tuple or None. Class names (index = position) when
                the column holds names.
            evaluation: bool. As in `check`. Defaults to False.
        """
        if vocabulary is not None:
            return self.from_class_indices(cells.class_indices(vocabulary, evaluation))
        return self.from_numbers(kind, cells, classes, evaluation)

    def from_class_indices(self, indices: np.ndarray) -> np.ndarray:
        """Labels from the int64 positions of the cells' class names (-1 for an empty cell)."""
        return np.where(indices >= 0, indices, np.nan).astype("float32")

    def from_numbers(self, kind: str, cells, classes: int, evaluation: bool) -> np.ndarray:
        """Labels from a column of numbers; raises naming the first cell the kind cannot have."""
        raise NotImplementedError

    def _check_vocabulary(self, vocabulary: Optional[tuple], expected: int, fix: str, classes: int, where: str,
                          origin: str, evaluation: bool) -> None:
        if vocabulary is None or len(vocabulary) == expected:
            return
        what = "more" if len(vocabulary) > expected else "fewer"
        if evaluation:
            fix = "the artifact's metrics.json and model disagree: evaluate the artifact as train wrote it"
        raise DataError(
            f"{where}: {len(vocabulary)} classes in {origin} ({listed(vocabulary)}), {what} than "
            f"the task's {expected}; {fix}. Received: classes={classes}"
        )


class ClassIndexColumn(LabelColumnRule):
    """Class indices 0..classes-1 (int32, -1 missing), written as numbers or as class names."""

    def check(self, kind, classes, vocabulary, where, origin, evaluation=False) -> int:
        fix = f"set the task's classes to {len(vocabulary or ())}"
        self._check_vocabulary(vocabulary, classes, fix, classes, where, origin, evaluation)
        return classes

    def from_class_indices(self, indices: np.ndarray) -> np.ndarray:
        return indices.astype("int32")

    def from_numbers(self, kind, cells, classes, evaluation) -> np.ndarray:
        if evaluation:
            expected = (f"the model was trained on {kind} labels written as numbers in this column "
                        f"(class indices 0..{classes - 1}): write them so here")
        else:
            expected = (f"{kind} labels are class indices 0..{classes - 1} or class names written as strings "
                        "in every split")
        values = cells.numbers(expected)
        present = ~np.isnan(values)
        owner = "the model has" if evaluation else "the task has classes:"
        cells.refuse(present & ((values != np.round(values)) | (values < 0) | (values >= classes)),
                     f"class indices must be whole numbers from 0 to {classes - 1} ({owner} {classes})")
        return np.where(present, values, -1).astype("int32")


class BinaryColumn(LabelColumnRule):
    """0 or 1 (float32, NaN missing; probabilities in [0, 1] fit too), written as numbers or two class names."""

    def check(self, kind, classes, vocabulary, where, origin, evaluation=False) -> int:
        self._check_vocabulary(vocabulary, 2, "a binary label takes two values (or 0 and 1)", classes, where,
                               origin, evaluation)
        return 1

    def from_numbers(self, kind, cells, classes, evaluation) -> np.ndarray:
        if evaluation:
            expected = (f"the model was trained on {kind} labels written as numbers in this column (0 or 1): "
                        "write them so here")
        else:
            expected = f"{kind} labels are 0 or 1 (or two names written as strings in every split)"
        values = cells.numbers(expected)
        present = ~np.isnan(values)
        cells.refuse(present & ((values < 0) | (values > 1)),
                     f"{kind} labels are 0 or 1 (probabilities in [0, 1] also fit)")
        return values.astype("float32")


class NumberColumn(LabelColumnRule):
    """Finite numbers within float32's range (float32, NaN missing), for a task with one output unit."""

    def check(self, kind, classes, vocabulary, where, origin, evaluation=False) -> int:
        if classes != 1:
            raise DataError(f"{where}: a {kind} task reading one column has one output unit; set classes "
                            f"to 1. Received: classes={classes}")
        return 1

    def from_numbers(self, kind, cells, classes, evaluation) -> np.ndarray:
        values = cells.numbers(f"{kind} labels are numbers")
        present = ~np.isnan(values)
        cells.refuse(present & ~np.isfinite(values), f"{kind} labels must be finite numbers")
        cells.check_float32(values, f"{kind} labels are float32: rescale the column or fix the value")
        return values.astype("float32")


# Rule name (`TaskKind.column`) -> rule.
COLUMN_RULES = {
    "class_index": ClassIndexColumn("class_index", takes_names=True),
    "binary": BinaryColumn("binary", takes_names=True),
    "number": NumberColumn("number", takes_names=False),
}
