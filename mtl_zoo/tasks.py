"""`Task`: one thing a multi-task model predicts, and how it is trained and scored.

A task has a name (the key of its output and label), a kind, a size (classes,
labels or units), a loss, metrics and a loss weight. Its kind supplies the
defaults: the output activation, the loss, the metrics and how a missing label
is written. It also says which losses fit its labels and outputs and which
metrics can score them (`TaskKind.losses`, `TaskKind.metrics`): a task that
names any other loss or metric is refused when it is made, not after training.

Example:

>>> from mtl_zoo.tasks import Task
>>> task = Task("left_digit", kind="classification", classes=10)
>>> task.loss, task.metrics
('sparse_categorical_crossentropy', ('accuracy',))
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
from typing import Optional, Sequence

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TASK_KINDS

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TOP_K_ACCURACY = re.compile(r"^top_([1-9][0-9]*)_accuracy$")
# Short metric names `mtl_zoo.task_metrics.make_metric` builds -> the Keras metric they are.
_METRIC_ALIASES = {"mae": "mean_absolute_error", "mse": "mean_squared_error",
                   "rmse": "root_mean_squared_error", "auc": "auc", "precision": "precision",
                   "recall": "recall"}


@dataclasses.dataclass(frozen=True)
class TaskKind:
    """What a task kind implies for its head, loss, metrics and missing labels.

    Args:
        name: str. Registry name of the kind.
        description: str. One line for `mtl-zoo list`.
        activation: str. Activation of the output layer.
        default_loss: str. Keras loss name used when a task names none.
        default_metrics: tuple. Metric names used when a task names none.
        losses: tuple. Keras loss names that fit the kind's labels and
            outputs; any alias of one of them fits too.
        metrics: tuple. Metric names that can score the kind ("top_K_accuracy"
            stands for every `top_<k>_accuracy`, k >= 1); any alias fits too.
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
    losses: tuple
    metrics: tuple
    label_dtype: str
    missing_value: str
    elementwise: bool
    fixed_units: Optional[int] = None
    label_rule: str = "finite"


# Binary and multilabel tasks: one sigmoid probability and one 0/1 label per output unit.
_PROBABILITY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy", "mean_squared_error")
_PROBABILITY_METRICS = ("accuracy", "auc", "precision", "recall", "binary_accuracy",
                        "binary_crossentropy", "mae", "mse", "rmse")

for _kind in (
    TaskKind(
        "classification",
        "One class out of `classes`; labels are class indices (-1 = missing).",
        activation="softmax",
        default_loss="sparse_categorical_crossentropy",
        default_metrics=("accuracy",),
        losses=("sparse_categorical_crossentropy",),
        metrics=("accuracy", "top_K_accuracy", "sparse_categorical_accuracy",
                 "sparse_top_k_categorical_accuracy", "sparse_categorical_crossentropy"),
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
        losses=_PROBABILITY_LOSSES,
        metrics=_PROBABILITY_METRICS,
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
        losses=_PROBABILITY_LOSSES,
        metrics=_PROBABILITY_METRICS,
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
        losses=("mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
                "mean_absolute_percentage_error", "mean_squared_logarithmic_error"),
        metrics=("mae", "mse", "rmse", "mean_absolute_percentage_error",
                 "mean_squared_logarithmic_error", "log_cosh_error"),
        label_dtype="float32",
        missing_value="nan",
        elementwise=True,
    ),
):
    TASK_KINDS.register(_kind.name, _kind)


@functools.lru_cache(maxsize=None)
def _loss_identity(name: str) -> str:
    """The name of the Keras loss function `name` stands for; raises if Keras has none."""
    import keras

    loss = keras.losses.get(name)
    if isinstance(loss, type):
        loss = loss()
    loss = getattr(loss, "fn", loss)
    return getattr(loss, "__name__", type(loss).__name__)


@functools.lru_cache(maxsize=None)
def _metric_identity(name: str) -> tuple:
    """Which metric `name` stands for; raises if neither mtl_zoo nor Keras has it.

    "accuracy" (resolved per kind) and "top_<k>_accuracy" are mtl_zoo's own;
    every other name is the Keras metric it resolves to.
    """
    if name in ("accuracy", "acc"):
        return ("mtl_zoo", "accuracy")
    if TOP_K_ACCURACY.match(name):
        return ("mtl_zoo", "top_K_accuracy")
    if name in _METRIC_ALIASES:
        return ("keras", _METRIC_ALIASES[name])
    import keras

    metric = keras.metrics.get(name)
    return ("keras", getattr(metric, "name", None) or getattr(metric, "__name__", type(metric).__name__))


def check_loss(task_name: str, kind: TaskKind, loss) -> None:
    """Raises `OptionError("loss", ...)` unless `loss` is a Keras loss that fits `kind`.

    Args:
        task_name: str. The task, for the message.
        kind: `TaskKind`. Its `losses` say what fits.
        loss: str. The loss name to check.

    Example:

    >>> check_loss("price", TASK_KINDS.get("regression"), "huber")
    """
    allowed = ", ".join(kind.losses)
    try:
        identity = _loss_identity(loss) if isinstance(loss, str) and loss else None
    except (ValueError, TypeError):  # not a Keras name, or one that cannot be built from a name
        identity = None
    if identity is None:
        raise OptionError(
            "loss",
            f"Unknown loss {loss!r} for task '{task_name}'; a '{kind.name}' task takes one of "
            f"the Keras losses {allowed}. Received: loss={loss!r}",
        )
    if identity not in {_loss_identity(name) for name in kind.losses}:
        raise OptionError(
            "loss",
            f"Loss '{loss}' does not fit task '{task_name}' of kind '{kind.name}'; use one "
            f"of {allowed}. Received: loss={loss!r}",
        )


def check_metric(task_name: str, kind: TaskKind, metric) -> None:
    """Raises `OptionError("metrics", ...)` unless `metric` is known and can score `kind`.

    Args:
        task_name: str. The task, for the message.
        kind: `TaskKind`. Its `metrics` say what can score it.
        metric: str. The metric name to check.

    Example:

    >>> check_metric("digit", TASK_KINDS.get("classification"), "top_3_accuracy")
    """
    allowed = ", ".join(kind.metrics).replace("top_K_accuracy", "top_<k>_accuracy")
    try:
        identity = _metric_identity(metric) if isinstance(metric, str) and metric else None
    except (ValueError, TypeError):  # not a Keras name, or one that cannot be built from a name
        identity = None
    if identity is None:
        raise OptionError(
            "metrics",
            f"Task '{task_name}': unknown metric {metric!r}; a '{kind.name}' task can be scored "
            f"by {allowed}. Received: metric={metric!r}",
        )
    fitting = {_metric_identity(name.replace("top_K_", "top_1_")) for name in kind.metrics}
    if identity not in fitting:
        raise OptionError(
            "metrics",
            f"Task '{task_name}': metric '{metric}' cannot score a '{kind.name}' task; use "
            f"one of {allowed}. Received: metric={metric!r}",
        )


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
            raise OptionError(
                "name",
                "A task name must be a Python identifier (letters, digits, underscores, "
                f"starting with a letter). Received: name={self.name!r}",
            )
        kind = TASK_KINDS.get(self.kind)
        if kind.fixed_units is not None and self.classes not in (1, kind.fixed_units):
            raise OptionError(
                "classes",
                f"Task '{self.name}' of kind '{self.kind}' has exactly {kind.fixed_units} "
                f"output; drop `classes`. Received: classes={self.classes}",
            )
        minimum = 2 if self.kind == "classification" else 1
        if not _is_integer(self.classes) or self.classes < minimum:
            raise OptionError(
                "classes",
                f"Task '{self.name}' of kind '{self.kind}' needs classes >= {minimum}. "
                f"Received: classes={self.classes!r}",
            )
        if (not isinstance(self.loss_weight, numbers.Real) or isinstance(self.loss_weight, bool)
                or not math.isfinite(self.loss_weight) or self.loss_weight < 0):
            raise OptionError(
                "loss_weight",
                f"Task '{self.name}' needs a finite loss_weight >= 0. "
                f"Received: loss_weight={self.loss_weight!r}",
            )
        if isinstance(self.head_units, (str, bytes)) or not all(
            _is_integer(units) and units >= 1 for units in self.head_units
        ):
            raise OptionError(
                "head_units",
                f"Task '{self.name}' needs positive integer head_units (hidden layer widths). "
                f"Received: head_units={self.head_units!r}",
            )
        loss = kind.default_loss if self.loss is None else self.loss
        metrics = kind.default_metrics if self.metrics is None else self.metrics
        if isinstance(metrics, (str, bytes)):
            raise OptionError(
                "metrics",
                f"Task '{self.name}' takes a list of metric names. Received: metrics={metrics!r}",
            )
        check_loss(self.name, kind, loss)
        for metric in metrics:
            check_metric(self.name, kind, metric)
        if len(set(metrics)) != len(metrics):
            raise OptionError(
                "metrics",
                f"Task '{self.name}' names a metric twice. Received: metrics={list(metrics)!r}",
            )
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "metrics", tuple(metrics))
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


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


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
