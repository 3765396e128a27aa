"""`Task`: one thing a multi-task model predicts, and how it is trained and scored.

A task has a name (the key of its output and label), a kind, a size (classes,
labels or units), a loss, metrics and a loss weight. Its kind supplies the
defaults: the output activation, the loss, the metrics and how a missing label
is written. It also says which losses fit its labels and outputs and which
metrics can score them (`TaskKind.losses`, `TaskKind.metrics`): a task that
names any other loss or metric is refused when it is made, not after training.
Everything else that depends on the kind (its head, label layout, missing
mask, metrics, table column and model card entry) is the `TaskKind`'s too:
kinds live in `mtl_zoo.tasks.kinds`, one module each (`TaskKind` is importable
from here as well).

Example:

>>> from mtl_zoo.tasks.task import Task
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

import mtl_zoo.tasks.kinds  # noqa: F401  (registers the built-in kinds)
from mtl_zoo.errors import OptionError
from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.tasks.kinds.classification import TOP_K_ACCURACY
from mtl_zoo.registry import TASK_KINDS

__all__ = ["TOP_K_ACCURACY", "Task", "TaskKind", "build_head", "check_loss", "check_metric", "check_unique_names",
           "scale_target"]

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Short metric names `mtl_zoo.tasks.metrics.make_metric` builds -> the Keras metric they are.
_METRIC_ALIASES = {"mae": "mean_absolute_error", "mse": "mean_squared_error",
                   "rmse": "root_mean_squared_error", "auc": "auc", "precision": "precision",
                   "recall": "recall"}


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
    if isinstance(metric, str) and metric in kind.own_metrics:
        return
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
    fitting = {_metric_identity(name.replace("top_K_", "top_1_")) for name in kind.metrics
               if name not in kind.own_metrics}
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
        kind: str. A registered task kind (`mtl-zoo list`): "classification",
            "binary", "multilabel", "regression", "tagging", "bbox",
            "segmentation", "dense_regression", ...
        classes: int. Number of classes (classification, tagging,
            segmentation), labels (multilabel) or output units (regression,
            dense regression). Binary tasks have 1, box tasks 4.
            Defaults to 1.
        loss: str. Keras loss name. Defaults to the kind's loss.
        metrics: sequence of str. Metric names ("accuracy", "auc", "mae",
            "mse", "rmse", "top_5_accuracy", or any Keras metric name).
            Defaults to the kind's metrics.
        loss_weight: float. Weight of the task's loss in the total loss.
            Defaults to 1.0.
        head_units: sequence of int. Hidden layer widths of the task's head
            before its output layer (for per-pixel kinds, the decoder's
            convolution widths). Defaults to none.
        class_names: sequence of str or None. One name per class, in index
            order (tagging tasks need their IOB2 tag names, e.g. "O",
            "B-PER", "I-PER", for entity F1). Defaults to None.
        output_size: sequence of two ints or None. `(height, width)` of a
            per-pixel task's output; only per-pixel kinds take it. Defaults
            to None (the resolution of the trunk's stem output, i.e. the
            model's image input).
        standardize_target: bool. Train on standardized labels: the head
            predicts `z` and ends in a `TargetScale` layer returning
            `mean + std * z` (outputs and metrics in real units), and the
            loss compares `(label - mean) / std` with `(prediction - mean) /
            std`. `mean` and `std` (per output unit) come from the training
            labels through `MultiTaskModel.adapt_targets` (recipes do it on
            the training split); until then they are 0 and 1. Kinds that
            take it: `regression`. Defaults to False.

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
    class_names: Optional[Sequence[str]] = None
    output_size: Optional[Sequence[int]] = None
    standardize_target: bool = False

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
        minimum = kind.minimum_classes
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
        self._check_class_names(kind)
        self._check_standardize_target(kind)
        if self.output_size is not None:
            if (isinstance(self.output_size, (str, bytes)) or len(self.output_size) != 2
                    or not all(_is_integer(size) and size >= 1 for size in self.output_size)):
                raise OptionError(
                    "output_size",
                    f"Task '{self.name}' takes output_size as two positive integers (height, width). "
                    f"Received: output_size={self.output_size!r}",
                )
            object.__setattr__(self, "output_size", tuple(int(size) for size in self.output_size))
        loss = kind.default_loss if self.loss is None else self.loss
        metrics = kind.default_metrics_for(self) if self.metrics is None else self.metrics
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
        kind.check_task(self)

    def _check_standardize_target(self, kind: TaskKind) -> None:
        if not isinstance(self.standardize_target, bool):
            raise OptionError(
                "standardize_target",
                f"Task '{self.name}' takes standardize_target as true or false. "
                f"Received: standardize_target={self.standardize_target!r}",
            )
        if self.standardize_target and not kind.standardizes_targets:
            raise OptionError(
                "standardize_target",
                f"Task '{self.name}' of kind '{self.kind}' has no real-valued target to standardize; drop "
                f"standardize_target (regression tasks take it). Received: standardize_target=True",
            )

    def _check_class_names(self, kind: TaskKind) -> None:
        if self.class_names is None:
            return
        names = self.class_names
        if (isinstance(names, (str, bytes)) or not all(isinstance(name, str) and name for name in names)
                or len(set(names)) != len(names)):
            raise OptionError(
                "class_names",
                f"Task '{self.name}' takes class_names as a list of distinct non-empty strings. "
                f"Received: class_names={names!r}",
            )
        units = kind.fixed_units or self.classes
        if len(names) != units:
            raise OptionError(
                "class_names",
                f"Task '{self.name}' has {units} classes but {len(names)} class_names; give one name per "
                f"class. Received: class_names={list(names)!r}",
            )
        object.__setattr__(self, "class_names", tuple(names))

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
        for field in ("class_names", "output_size"):
            if config[field] is not None:
                config[field] = list(config[field])
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


def build_head(task: Task, features, feature_maps=None, wide_logits=None):
    """Applies a fresh head for `task` to `features` and returns its output.

    Args:
        task: `Task`. Its kind builds the head; supplies units, activation
            and hidden widths.
        features: Keras tensor. The task's final features, shape
            `(batch, ...)`; the sentence-level heads flatten spatial axes.
        feature_maps: list of Keras tensors or None. The task's intermediate
            stage outputs, shallow to deep; per-token and per-pixel kinds
            need them (or `features` of the right rank). Defaults to None.
        wide_logits: Keras tensor or None. `(batch, task.units)` logits of
            a wide path, added to the head's before its activation; only
            for kinds with one output per example. Defaults to None.

    Returns:
        The task's output tensor, float32: `(batch, task.units)` for
        sentence-level and box kinds, `(batch, tokens, classes)` for
        tagging, `(batch, height, width, units)` for per-pixel kinds.

    Raises:
        FeatureMapError: the kind needs a feature map none of the given
            tensors is.

    Example:

    >>> import keras
    >>> from mtl_zoo.tasks.task import Task, build_head
    >>> features = keras.Input((16,))
    >>> build_head(Task("digit", "classification", 10), features).shape
    (None, 10)
    >>> tokens = keras.Input((5, 8))
    >>> build_head(Task("tags", "tagging", 3), features, feature_maps=[tokens, features]).shape
    (None, 5, 3)
    """
    maps = None if feature_maps is None else list(feature_maps)
    if wide_logits is None:
        output = task.kind_spec.build_head(task, features, maps)
    else:  # the wide path's logits join the head's before its activation (and before the target's scale)
        output = task.kind_spec.build_head(task, features, maps, wide_logits=wide_logits)
    return scale_target(task, output)


def scale_target(task: Task, output):
    """Ends `task`'s head in its `TargetScale` layer when it standardizes its target, else returns `output`.

    Args:
        task: `Task`.
        output: Keras tensor. The head's output (standardized units).

    Example:

    >>> import keras
    >>> output = scale_target(Task("price", "regression", standardize_target=True), keras.Input((1,)))
    >>> output._keras_history.operation.name
    'price_target_scale'
    """
    if not task.standardize_target:
        return output
    from mtl_zoo.layers.target_scale import TargetScale, target_scale_name

    return TargetScale(name=target_scale_name(task.name))(output)
