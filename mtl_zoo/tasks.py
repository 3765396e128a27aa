"""`Task`: one thing a multi-task model predicts, and how it is trained and scored.

A task has a name (the key of its output and label), a kind, a size (classes,
labels or units), a loss, metrics and a loss weight. Its kind supplies the
defaults: the output activation, the loss, the metrics and how a missing label
is written.

Example:

>>> from mtl_zoo.tasks import Task
>>> task = Task("left_digit", kind="classification", classes=10)
>>> task.loss, task.metrics
('sparse_categorical_crossentropy', ('accuracy',))
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional, Sequence

from mtl_zoo.registry import TASK_KINDS

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class TaskKind:
    """What a task kind implies for its head, loss, metrics and missing labels.

    Args:
        name: str. Registry name of the kind.
        description: str. One line for `mtl-zoo list`.
        activation: str. Activation of the output layer.
        default_loss: str. Keras loss name used when a task names none.
        default_metrics: tuple. Metric names used when a task names none.
        label_dtype: str. Dtype labels are cast to.
        missing_value: str. How a missing label is written: "-1" or "nan".
        elementwise: bool. Whether every output unit has its own label (and
            its own missing mask), as opposed to one class index per example.
        fixed_units: int or None. Output width forced by the kind, if any.
        label_rule: str. Which observed labels are valid: "class_index"
            (integers in [0, classes)), "unit_interval" (floats in [0, 1]) or
            "finite" (any finite float). Defaults to "finite".
    """

    name: str
    description: str
    activation: str
    default_loss: str
    default_metrics: tuple
    label_dtype: str
    missing_value: str
    elementwise: bool
    fixed_units: Optional[int] = None
    label_rule: str = "finite"


for _kind in (
    TaskKind(
        "classification",
        "One class out of `classes`; labels are class indices (-1 = missing).",
        activation="softmax",
        default_loss="sparse_categorical_crossentropy",
        default_metrics=("accuracy",),
        label_dtype="int32",
        missing_value="-1",
        elementwise=False,
        label_rule="class_index",
    ),
    TaskKind(
        "binary",
        "A yes/no outcome; labels are 0 or 1 (NaN = missing).",
        activation="sigmoid",
        default_loss="binary_crossentropy",
        default_metrics=("accuracy", "auc"),
        label_dtype="float32",
        missing_value="nan",
        elementwise=True,
        fixed_units=1,
        label_rule="unit_interval",
    ),
    TaskKind(
        "multilabel",
        "Any subset of `classes` labels; labels are 0/1 vectors (NaN = missing entry).",
        activation="sigmoid",
        default_loss="binary_crossentropy",
        default_metrics=("accuracy", "auc"),
        label_dtype="float32",
        missing_value="nan",
        elementwise=True,
        label_rule="unit_interval",
    ),
    TaskKind(
        "regression",
        "Real values with `classes` output units; labels are floats (NaN = missing).",
        activation="linear",
        default_loss="mean_squared_error",
        default_metrics=("mae",),
        label_dtype="float32",
        missing_value="nan",
        elementwise=True,
    ),
):
    TASK_KINDS.register(_kind.name, _kind)


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of a multi-task model.

    Args:
        name: str. Key of the task's output and label; a Python identifier.
        kind: str. A registered task kind: "classification", "binary",
            "multilabel" or "regression".
        classes: int. Number of classes (classification), labels
            (multilabel) or output units (regression). Binary tasks have 1.
            Defaults to 1.
        loss: str. Keras loss name. Defaults to the kind's loss.
        metrics: sequence of str. Metric names ("accuracy", "auc", "mae",
            "mse", "rmse", "top_5_accuracy", or any Keras metric name).
            Defaults to the kind's metrics.
        loss_weight: float. Weight of the task's loss in the total loss.
            Defaults to 1.0.
        head_units: sequence of int. Hidden layer widths of the task's head
            before its output layer. Defaults to none.

    Example:

    >>> Task("price", kind="regression", classes=1, loss_weight=0.5).units
    1
    """

    name: str
    kind: str
    classes: int = 1
    loss: Optional[str] = None
    metrics: Optional[Sequence[str]] = None
    loss_weight: float = 1.0
    head_units: Sequence[int] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise ValueError(
                "A task name must be a Python identifier (letters, digits, underscores, "
                f"starting with a letter). Received: name={self.name!r}"
            )
        kind = TASK_KINDS.get(self.kind)
        if kind.fixed_units is not None and self.classes not in (1, kind.fixed_units):
            raise ValueError(
                f"Task '{self.name}' of kind '{self.kind}' has exactly {kind.fixed_units} "
                f"output; drop `classes`. Received: classes={self.classes}"
            )
        minimum = 2 if self.kind == "classification" else 1
        if not isinstance(self.classes, int) or self.classes < minimum:
            raise ValueError(
                f"Task '{self.name}' of kind '{self.kind}' needs classes >= {minimum}. "
                f"Received: classes={self.classes!r}"
            )
        if self.loss_weight < 0:
            raise ValueError(
                f"Task '{self.name}' needs a loss_weight >= 0. "
                f"Received: loss_weight={self.loss_weight}"
            )
        object.__setattr__(self, "loss", self.loss or kind.default_loss)
        object.__setattr__(
            self, "metrics", tuple(self.metrics if self.metrics is not None else kind.default_metrics)
        )
        object.__setattr__(self, "head_units", tuple(int(u) for u in self.head_units))

    @property
    def kind_spec(self) -> TaskKind:
        """The registered `TaskKind` of this task."""
        return TASK_KINDS.get(self.kind)

    @property
    def units(self) -> int:
        """Width of the task's output layer."""
        return self.kind_spec.fixed_units or self.classes

    def get_config(self) -> dict:
        """Returns the constructor arguments as plain Python values."""
        config = dataclasses.asdict(self)
        config["metrics"] = list(self.metrics)
        config["head_units"] = list(self.head_units)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Task":
        """Rebuilds a task from `get_config()` output."""
        return cls(**config)


def check_unique_names(tasks: Sequence[Task]) -> None:
    """Raises if `tasks` is empty or two tasks share a name."""
    if not tasks:
        raise ValueError("A multi-task model needs at least one task. Received: tasks=[]")
    names = [task.name for task in tasks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"Task names must be unique; repeated: {', '.join(duplicates)}. Received: {names}"
        )
