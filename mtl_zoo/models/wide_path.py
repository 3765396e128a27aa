"""`WidePath`: the wide part of wide & deep, per-task linear logits over sparse encodings of raw columns.

Wide & deep (Cheng et al. 2016, https://arxiv.org/abs/1606.07792) adds to
each output a linear model over sparse features, trained jointly with the
deep network: the deep part generalizes, the wide part memorizes which words
or values go with which outputs. Here the wide path sits beside the sharing
scheme: it reads the model's raw inputs (never the shared features), encodes
them once for all tasks, and gives every task head its own
`Dense(task.units)` over that encoding, with an L2 penalty, whose output is
added to the head's logits before its activation (softmax, sigmoid, or none
for regression).

Each column is encoded by its feature type (`WIDE_ENCODINGS`):

- "text": TF-IDF weights of word n-grams of 1 to `ngrams` words, the
  `max_tokens` most frequent of the training split (`ExactTextVectorization`,
  "tf_idf" output, the same standardization as the `text` trunk's);
- "categorical" and "id": the one-hot vector of the value in the training
  vocabulary (`ExactStringLookup` / `ExactIntegerLookup`, "one_hot" output,
  at most `max_tokens` entries, unseen values in the OOV entry);
- a cross of two categorical or id columns: one-hot of the pair of values,
  over the pairs seen in training (`mtl_zoo.layers.wide.CrossColumns`, then
  an `ExactStringLookup`).

Vocabularies and IDF weights are learned by `WidePath.adapt` on the training
split, like a trunk's, and live in the layer configs, so `.keras` and the
SavedModel encode every value exactly as in training. The L2 terms are
weight regularizers: they join the objective and are logged as
`regularization_loss`. A recipe turns the path on with `model.wide`; the
Python API takes an adapted `WidePath` as `build_model(..., wide=...)`.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.data.source import InputSpec
>>> inputs = {"title": InputSpec((), "string", feature_type="text"),
...           "city": InputSpec((), "string", feature_type="categorical")}
>>> wide = WidePath(inputs, columns=["title", "city"], ngrams=1, l2=1e-3)
>>> rows = tf.data.Dataset.from_tensor_slices({"title": ["big fish", "big sleep"], "city": ["oslo", "rome"]})
>>> wide.adapt(rows).needs_adaptation
False
>>> wide.width
7
"""

from __future__ import annotations

from typing import List, Optional

import keras

from mtl_zoo.errors import OptionError, listed
from mtl_zoo.layers.lookups import ExactIntegerLookup, ExactStringLookup, ExactTextVectorization
from mtl_zoo.layers.wide import CrossColumns
from mtl_zoo.trunks.base import ADAPTATION_BATCH_SIZE
from mtl_zoo.trunks.columns import adapt_in_graph
from mtl_zoo.utils.names import layer_name

# Feature type (`mtl_zoo.feature_types.FEATURE_TYPES`) -> how the wide path encodes it (None: it cannot).
WIDE_ENCODINGS = {"numeric": None, "categorical": "one_hot", "id": "one_hot", "text": "tf_idf"}
CROSSABLE = ("categorical", "id")


def _feature_type(spec) -> Optional[str]:
    """The input's feature type; a plain string input of shape () counts as text."""
    if spec.feature_type is None and tuple(spec.shape) == () and str(spec.dtype) == "string":
        return "text"
    return spec.feature_type


class _Encoding:
    """One adapted preprocessing layer of the wide path and how it reads the raw inputs."""

    def __init__(self, columns: tuple, layer, cross=None, text=False):
        self.columns = columns
        self.layer = layer
        self.cross = cross
        self.text = text

    def values(self, row: dict):
        if self.cross is not None:
            return self.cross.call([row[name] for name in self.columns])
        return row[self.columns[0]]

    def adapt(self, batches) -> None:
        values = batches.map(self.values)
        if self.text:
            adapt_in_graph(self.layer, values)  # traced: "tf_idf" adaptation is slow eagerly
        else:
            self.layer.adapt(values)

    def __call__(self, inputs: dict, max_tokens: int):
        tensors = [inputs[name] for name in self.columns]
        encoded = self.layer(self.cross(tensors) if self.cross is not None else tensors[0])
        if encoded.shape[-1] is None:  # not adapted: the width is the vocabulary size, at most max_tokens
            encoded = keras.layers.Reshape((max_tokens,), name=f"{self.layer.name}_width")(encoded)
        return encoded


class WidePath:
    """Per-task linear logits over TF-IDF, one-hot and crossed encodings of raw columns (wide & deep).

    Build it from the model's input specs, `adapt` it on the training
    split's features, and pass it to `build_model(..., wide=...)` (or
    `build_network`): every head of a task in `tasks` gets
    `Dense(task.units)` of the encoded columns added to its logits. Works
    with any trunk and sharing scheme that builds one head per task; heads
    with one output per token or pixel take no wide logits.

    Args:
        inputs: dict. The model's input name -> `InputSpec`.
        columns: list of str. Inputs to encode: "text" columns (TF-IDF of
            word n-grams), "categorical" and "id" columns (one-hot). A
            string input of shape () without a feature type counts as text.
        ngrams: int. Text columns use n-grams of 1 to `ngrams` words.
            Defaults to 2.
        max_tokens: int. Largest vocabulary of each encoding (n-grams,
            values or value pairs, the OOV entry included): the most
            frequent in the training split. Defaults to 20000.
        l2: float. L2 penalty `l2 * sum(w ** 2)` on each task's wide kernel,
            added to the objective. Defaults to 1e-4.
        crosses: list of pairs of str. Pairs of categorical or id inputs
            whose value pairs get their own one-hot encoding (they need not
            be in `columns`). Defaults to None (no crosses).
        tasks: list of str or None. The heads that get wide logits.
            Defaults to None: every head with one output per example.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> WidePath({"title": InputSpec((), "string", feature_type="text")}, columns=["title"]).needs_adaptation
    True
    """

    def __init__(
        self,
        inputs: dict,
        columns: List[str],
        ngrams: int = 2,
        max_tokens: int = 20000,
        l2: float = 1e-4,
        crosses: Optional[List[List[str]]] = None,
        tasks: Optional[List[str]] = None,
    ):
        _check_integer("ngrams", ngrams, 1)
        _check_integer("max_tokens", max_tokens, 3)
        if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not 0 <= l2 < float("inf"):
            raise OptionError("l2", f"The wide path needs a finite l2 >= 0. Received: l2={l2!r}")
        if isinstance(columns, str) or isinstance(crosses, str) or not columns and not crosses:
            raise OptionError("columns", "The wide path needs a list of input columns to encode (or crosses). "
                                         f"Received: columns={columns!r}")
        if tasks is not None and (isinstance(tasks, str) or not tasks):
            raise OptionError("tasks", f"The wide path takes a list of task names, or none for every task. "
                                       f"Received: tasks={tasks!r}")
        self.ngrams, self.max_tokens, self.l2 = ngrams, max_tokens, float(l2)
        self.columns = list(columns)
        self.crosses = [pair if isinstance(pair, str) else list(pair) for pair in crosses or ()]
        self.tasks = None if tasks is None else list(tasks)
        self.encodings = [self._column_encoding(inputs, name) for name in self.columns]
        self.encodings += [self._cross_encoding(inputs, pair) for pair in self.crosses]
        self.adapted = False

    # === Layers ===

    def _check_column(self, inputs: dict, option: str, name) -> str:
        if name not in inputs:
            raise OptionError(option, f"The wide path has no input column {name!r}; inputs: {listed(sorted(inputs))}. "
                                      f"Received: {option}={getattr(self, option)!r}")
        return _feature_type(inputs[name])

    def _column_encoding(self, inputs: dict, name: str) -> _Encoding:
        feature_type = self._check_column(inputs, "columns", name)
        encoding = WIDE_ENCODINGS.get(feature_type)
        if encoding is None:
            raise OptionError(
                "columns",
                f"The wide path encodes text, categorical and id columns; '{name}' is "
                f"{feature_type or 'a dense tensor'} (the deep trunk takes it). Received: columns={self.columns!r}",
            )
        prefix = f"wide_{layer_name(name)}"
        if encoding == "tf_idf":
            layer = ExactTextVectorization(max_tokens=self.max_tokens, ngrams=self.ngrams if self.ngrams > 1 else None,
                                           output_mode="tf_idf", name=f"{prefix}_tf_idf")
            return _Encoding((name,), layer, text=True)
        lookup = ExactStringLookup if str(inputs[name].dtype) == "string" else ExactIntegerLookup
        return _Encoding((name,), lookup(max_tokens=self.max_tokens, output_mode="one_hot", name=f"{prefix}_one_hot"))

    def _cross_encoding(self, inputs: dict, pair) -> _Encoding:
        if isinstance(pair, str) or len(pair) != 2 or pair[0] == pair[1]:
            raise OptionError("crosses", f"The wide path crosses pairs of two different columns. "
                                         f"Received: crosses={self.crosses!r}")
        for name in pair:
            feature_type = self._check_column(inputs, "crosses", name)
            if feature_type not in CROSSABLE:
                raise OptionError("crosses", f"The wide path crosses categorical and id columns; '{name}' is "
                                             f"{feature_type or 'a dense tensor'}. Received: crosses={self.crosses!r}")
        prefix = f"wide_{layer_name(pair[0])}_x_{layer_name(pair[1])}"
        lookup = ExactStringLookup(max_tokens=self.max_tokens, output_mode="one_hot", name=f"{prefix}_one_hot")
        return _Encoding(tuple(pair), lookup, cross=CrossColumns(name=f"{prefix}_cross"))

    # === Adaptation ===

    @property
    def needs_adaptation(self) -> bool:
        """True until `adapt` has run."""
        return not self.adapted

    def adapt(self, features, batch_size: int = ADAPTATION_BATCH_SIZE) -> "WidePath":
        """Learns every encoding's vocabulary (and IDF weights) from the training split; call before building.

        Args:
            features: `tf.data.Dataset`. Unbatched feature dicts of the
                training split, as `Trunk.adapt` takes them.
            batch_size: int. Examples per adaptation batch. Defaults to 1024.

        Returns:
            The wide path, adapted.
        """
        import tensorflow as tf

        if not isinstance(features, tf.data.Dataset) or not isinstance(features.element_spec, dict):
            raise ValueError("WidePath.adapt takes an unbatched tf.data.Dataset of feature dicts, as Trunk.adapt "
                             f"does. Received: {getattr(features, 'element_spec', type(features).__name__)}")
        needed = sorted({name for encoding in self.encodings for name in encoding.columns})
        missing = sorted(set(needed) - set(features.element_spec))
        if missing:
            raise ValueError(f"The adaptation data has no column {missing[0]!r}; it has "
                             f"{sorted(features.element_spec)}. Received: missing columns {missing}")
        batches = features.map(lambda row: {name: row[name] for name in needed}).batch(batch_size).cache()
        for encoding in self.encodings:
            encoding.adapt(batches)
        self.adapted = True
        return self

    @property
    def width(self) -> int:
        """Width of the encoded features (the rows of each task's wide kernel) once adapted."""
        return sum(int(encoding.layer.vocabulary_size()) for encoding in self.encodings)

    # === Wiring ===

    def heads(self, head_tasks: dict, sharing: str) -> list:
        """The names of the heads that get wide logits, of the heads the builder is about to build.

        Args:
            head_tasks: dict. Head name -> `Task` (tasks and extra heads).
            sharing: str. The sharing scheme's name, for messages.

        Raises:
            OptionError: a listed task has no head of its own, or no head
                can take wide logits.
        """
        def takes(task):
            return not task.kind_spec.uses_feature_maps

        if self.tasks is None:
            names = [name for name, task in head_tasks.items() if takes(task)]
            if not names:
                raise OptionError("wide.tasks", f"No head of this model takes wide logits: sharing scheme '{sharing}' "
                                           "builds no head per task with one output per example (with "
                                           "shared_output, set share_head: false). "
                                           f"Received: heads={sorted(head_tasks)}")
            return names
        for name in self.tasks:
            if name not in head_tasks:
                raise OptionError("wide.tasks", f"The wide path's task '{name}' has no head of its own under sharing "
                                           f"scheme '{sharing}'; heads: {listed(sorted(head_tasks)) or 'none'}. "
                                           f"Received: tasks={self.tasks!r}")
            if not takes(head_tasks[name]):
                raise OptionError("wide.tasks", f"Task '{name}' has one output per token or pixel; the wide path adds "
                                           f"one logit vector per example. Received: tasks={self.tasks!r}")
        return list(self.tasks)

    def encode(self, inputs: dict):
        """The encoded columns of the model's raw inputs, `(batch, width)` float32; call once per network."""
        encoded = [encoding(inputs, self.max_tokens) for encoding in self.encodings]
        if len(encoded) == 1:
            return encoded[0]
        return keras.layers.Concatenate(dtype="float32", name="wide_features")(encoded)

    def logits(self, task, encoded):
        """A fresh `Dense(task.units)` named `f"{task.name}_wide_logits"`, L2-penalized, applied to `encoded`."""
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        return keras.layers.Dense(task.units, kernel_initializer="zeros", kernel_regularizer=regularizer,
                                  dtype="float32", name=f"{task.name}_wide_logits")(encoded)


def _check_integer(option: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(option, f"The wide path needs an integer {option} >= {minimum}. Received: {option}={value!r}")
