"""`TaskKind`: everything that depends on what a task predicts, in one object.

A kind says how a task of its kind is built, checked and scored:

- its **head** (`build_head`): the layers from the task's features (and, for
  kinds that tap intermediate stages, the trunk's feature maps) to its output;
- its **labels**: their dtype, how a missing one is written, which observed
  values are valid (`valid_labels`, the label rule) and how labels line up
  with the outputs: one class index per example, one value per output unit,
  one class index per token or pixel (`split_labels`, the missing-label mask);
- its **loss** (`loss_values`: one loss value per observed label) and its
  **metrics** (`make_metric`, `metric_inputs`);
- its **table column** (`column`, one of the rules of
  `mtl_zoo.tasks.kinds.label_column`): whether one column of a file can hold
  its labels, and how its cells become them (`check_label_column`,
  `column_labels`);
- its **model card** entry (`output_card`).

The four sentence-level kinds (classification, binary, multilabel,
regression) and the per-token, box and per-pixel kinds each live in one
module of `mtl_zoo.tasks.kinds` and register one instance in
`mtl_zoo.registry.TASK_KINDS`; a new kind is one more module and one
`TASK_KINDS.register` call. Importing this module does not import Keras.

Example:

>>> from mtl_zoo.registry import TASK_KINDS
>>> kind = TASK_KINDS.get("classification")
>>> kind.minimum_classes, kind.column, kind.label_dtype
(2, 'class_index', 'int32')
>>> kind.column_takes_names, TASK_KINDS.get("regression").column_takes_names
(True, False)
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from mtl_zoo.errors import DataError, OptionError
from mtl_zoo.tasks.kinds.label_column import COLUMN_RULES

# One line per label rule, for the error that names a task with a label it cannot have.
RULE_TEXT = {
    "class_index": "class indices must be below classes={units} (-1 marks a missing label)",
    "unit_interval": "labels must lie in [0, 1] (NaN marks a missing label)",
    "finite": "labels must be finite numbers (NaN marks a missing label)",
}


@dataclasses.dataclass
class LabelSplit:
    """One task's batch of labels, split by `TaskKind.split_labels`.

    Args:
        labels: tensor. Labels with missing and invalid entries set to 0.
        mask: float32 tensor of the same shape; 1.0 where a valid label is
            observed.
        num_invalid: float32 scalar. Number of observed labels the task
            cannot have.
    """

    labels: object
    mask: object
    num_invalid: object


class FeatureMapError(ValueError):
    """A head needs a feature map (tokens or pixels) that the sharing scheme did not report."""


@dataclasses.dataclass(frozen=True)
class TaskKind:
    """What a task kind implies for its head, labels, loss, metrics and data columns.

    The fields describe the kind; the methods do the kind-specific work and
    are overridden by kinds whose labels or heads are shaped differently
    (see `mtl_zoo.tasks.kinds.tagging`, `mtl_zoo.tasks.kinds.bbox`,
    `mtl_zoo.tasks.kinds.segmentation`, `mtl_zoo.tasks.kinds.dense_regression`).

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
            its own missing mask), as opposed to one class index per example
            (or per token or pixel).
        fixed_units: int or None. Output width forced by the kind, if any.
        label_rule: str. Which observed labels are valid: "class_index"
            (integers in [0, classes)), "unit_interval" (floats in [0, 1]) or
            "finite" (any finite float). Defaults to "finite".
        minimum_classes: int. Smallest `classes` a task of the kind may have.
            Defaults to 1.
        own_metrics: tuple. Metric names the kind builds itself (in
            `make_metric`) that are not Keras metric names, e.g. "iou".
            Defaults to none.
        column: str or None. What one table column of labels becomes for
            this kind, a rule of `mtl_zoo.tasks.kinds.label_column.COLUMN_RULES`:
            "class_index" (int32 class indices, -1 missing), "binary"
            (float32 0/1, NaN missing), "number" (float32, NaN missing) or
            None (the kind's labels do not fit in one column).
            Defaults to None.
        label_classes: bool. Whether `classes` counts the classes of the
            data set's label (checked against it in recipes). Defaults to
            False.
        uses_feature_maps: bool. Whether the head reads intermediate feature
            maps rather than only the task's final features (hard sharing
            then marks no shared representation: the task's output is not
            computed from the last shared block alone). Defaults to False.
        standardizes_targets: bool. Whether a task of this kind may set
            `standardize_target` (real-valued outputs, one per unit).
            Defaults to False.
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
    minimum_classes: int = 1
    own_metrics: tuple = ()
    column: Optional[str] = None
    label_classes: bool = False
    uses_feature_maps: bool = False
    standardizes_targets: bool = False

    def __post_init__(self):
        if self.label_rule not in RULE_TEXT:
            raise ValueError(f"Task kind '{self.name}': label_rule must be one of {', '.join(RULE_TEXT)}. "
                             f"Received: label_rule={self.label_rule!r}")
        if self.column is not None and self.column not in COLUMN_RULES:
            raise ValueError(f"Task kind '{self.name}': column must be one of {', '.join(COLUMN_RULES)} or None. "
                             f"Received: column={self.column!r}")

    # === Tasks ===

    def default_metrics_for(self, task) -> tuple:
        """The metrics a task of this kind gets when it names none (`default_metrics`)."""
        return self.default_metrics

    def check_task(self, task) -> None:
        """Raises `OptionError` if `task` sets something this kind cannot use (by default `output_size`).

        Args:
            task: `Task`. Called at the end of its validation.
        """
        if task.output_size is not None:
            raise OptionError("output_size", f"Task '{task.name}' of kind '{self.name}' has no spatial output; "
                                             f"drop `output_size`. Received: output_size={list(task.output_size)!r}")

    # === Head ===

    def build_head(self, task, features, feature_maps=None, wide_logits=None):
        """Applies a fresh head for `task` and returns its output.

        The default head flattens `features` if they have spatial axes, then
        applies `task.head_units` ReLU Dense layers and an output Dense layer
        named after the task, of width `task.units` and the kind's activation.
        With `wide_logits` the output Dense layer (`f"{task.name}_deep_logits"`)
        has no activation: the wide logits are added to its output
        (`f"{task.name}_wide_and_deep_logits"`), then the kind's activation
        (an `Activation` layer named after the task) gives the output.

        Args:
            task: `Task`.
            features: Keras tensor `(batch, ...)`. The task's final features.
            feature_maps: list of Keras tensors or None. The task's
                intermediate stage outputs, shallow to deep (unused here).
            wide_logits: Keras tensor `(batch, task.units)` or None. Logits
                of the wide path (`mtl_zoo.models.wide_path`). Defaults to None.

        Returns:
            Keras tensor, float32, `(batch, task.units)`.
        """
        import keras

        x = features
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name=f"{task.name}_head_flatten")(x)
        for index, units in enumerate(task.head_units, start=1):
            x = keras.layers.Dense(units, activation="relu", name=f"{task.name}_head_dense_{index}")(x)
        if wide_logits is None:
            return keras.layers.Dense(task.units, activation=self.activation, dtype="float32", name=task.name)(x)
        logits = keras.layers.Dense(task.units, dtype="float32", name=f"{task.name}_deep_logits")(x)
        logits = keras.layers.Add(dtype="float32", name=f"{task.name}_wide_and_deep_logits")([logits, wide_logits])
        return keras.layers.Activation(self.activation, dtype="float32", name=task.name)(logits)

    # === Labels ===

    def label_rule_text(self, task) -> str:
        """The rule an observed label must follow, for the invalid-label error."""
        return RULE_TEXT[self.label_rule].format(units=task.units)

    def valid_labels(self, task, values):
        """Boolean tensor: which observed `values` the task can have (its label rule)."""
        from keras import ops

        if self.label_rule == "class_index":
            return ops.logical_and(ops.greater_equal(values, 0), ops.less(values, task.units))
        if self.label_rule == "unit_interval":
            return ops.logical_and(ops.greater_equal(values, 0.0), ops.less_equal(values, 1.0))
        return ops.isfinite(values)

    def label_shape(self, predictions):
        """Shape the labels are reshaped to: the predictions' for elementwise kinds, `(batch,)` otherwise."""
        from keras import ops

        return ops.shape(predictions) if self.elementwise else (-1,)

    def present_labels(self, task, values):
        """Boolean tensor: which labels are given (not the missing value)."""
        from keras import ops

        if self.missing_value == "nan":
            return ops.logical_not(ops.isnan(values))
        return ops.not_equal(values, -1)

    def split_labels(self, task, labels, predictions) -> LabelSplit:
        """Splits one task's labels into clean values, an observed mask and an invalid count.

        Args:
            task: `Task`. The task the labels belong to.
            labels: tensor. The task's labels, as the data set gives them.
            predictions: tensor. The task's outputs, used for the target shape.

        Returns:
            A `LabelSplit`; labels and mask have `label_shape(predictions)`.
        """
        from keras import ops

        values = ops.reshape(ops.cast(labels, self.label_dtype), self.label_shape(predictions))
        present = self.present_labels(task, values)
        valid = self.valid_labels(task, values)
        observed = ops.logical_and(present, valid)
        invalid = ops.logical_and(present, ops.logical_not(valid))
        return LabelSplit(
            labels=ops.where(observed, values, ops.zeros_like(values)),
            mask=ops.cast(observed, "float32"),
            num_invalid=ops.sum(ops.cast(invalid, "float32")),
        )

    # === Loss ===

    def loss_values(self, loss_function, labels, predictions):
        """One loss value per label, shaped like the mask of `split_labels`.

        Args:
            loss_function: callable `fn(y_true, y_pred)` (a Keras loss
                function, reducing the last axis).
            labels: tensor. Clean labels from `split_labels`.
            predictions: float32 tensor. The task's outputs.
        """
        if self.elementwise:
            return loss_function(labels[..., None], predictions[..., None])
        return loss_function(labels, predictions)

    # === Metrics ===

    def make_metric(self, task, metric: str, name: str):
        """The kind's own metric object for `metric`, or None to use the generic one.

        Args:
            task: `Task`. The task it scores.
            metric: str. The metric name (already checked to fit the kind).
            name: str. The metric object's name, `f"{task}_{metric}"`.
        """
        if metric in ("accuracy", "acc"):
            import keras

            return keras.metrics.BinaryAccuracy(name=name)
        return None

    def metric_inputs(self, task, labels, predictions, weights):
        """`(labels, predictions, weights)` as the kind's metrics take them.

        Elementwise kinds are scored over observed entries, micro-averaged
        over their output units: everything is flattened to `(-1, 1)`.
        """
        if not self.elementwise:
            return labels, predictions, weights
        from keras import ops

        return ops.reshape(labels, (-1, 1)), ops.reshape(predictions, (-1, 1)), ops.reshape(weights, (-1, 1))

    # === Table columns ===

    @property
    def column_takes_names(self) -> bool:
        """Whether one table column of this kind's labels may hold class names written as strings."""
        return self.column is not None and COLUMN_RULES[self.column].takes_names

    def check_label_column(self, classes: int, vocabulary: Optional[tuple], where: str, origin: str,
                           evaluation: bool = False) -> int:
        """Raises `DataError` unless a task of this kind can read its labels from one column of a file.

        Args:
            classes: int. The task's `classes`.
            vocabulary: tuple or None. The class names found in the column,
                or None when it holds numbers.
            where: str. File and column, for messages.
            origin: str. Where the class names were found, for messages.
            evaluation: bool. The column is in a file a trained model is
                scored on (its class names fixed by the model). Defaults to
                False.

        Returns:
            The label's number of classes (output units), as `LabelSpec.classes`.
        """
        return self._column_rule(where).check(self.name, classes, vocabulary, where, origin, evaluation)

    def column_labels(self, cells, classes: int, vocabulary: Optional[tuple], evaluation: bool = False):
        """A column's cells as labels of this kind; an empty cell becomes a missing label.

        Args:
            cells: `mtl_zoo.data.tables.values.ColumnCells`. The column and
                where it is; it reads numbers and class names and raises the
                error that names the first offending row.
            classes: int. The label's classes (from `check_label_column`).
            vocabulary: tuple or None. Class names (index = position) when
                the column holds names.
            evaluation: bool. As in `check_label_column`. Defaults to False.

        Returns:
            A numpy array of `label_dtype`, one label per row.
        """
        return self._column_rule(cells.where).labels(self.name, cells, classes, vocabulary, evaluation)

    def _column_rule(self, where: str):
        if self.column is None:
            raise DataError(f"{where}: a {self.name} task cannot read its labels from one column; use one binary "
                            f"task per label. Received: kind={self.name!r}")
        return COLUMN_RULES[self.column]

    # === Outputs and data ===

    def output_card(self, task, shape) -> dict:
        """The model card entry of a task's output.

        Args:
            task: `Task`.
            shape: list. The output's shape per example (from the network).
        """
        card = {"kind": self.name, "shape": list(shape), "activation": self.activation}
        if task.class_names is not None:
            card["class_names"] = list(task.class_names)
        return card
