"""The `features` trunk: raw tabular columns, preprocessed inside the model, then blocks.

Every input is one raw column whose `InputSpec.feature_type` (one of
`mtl_zoo.feature_types.FEATURE_TYPES`) says how it is turned into features;
`COLUMN_TYPES` holds, per type, the inputs it takes and the column of
`mtl_zoo.trunks.columns` it builds:

- "numeric" (float): `Normalization` adapted on the training split; a
  missing value (NaN) becomes 0 after normalization (the training mean) and
  a 0/1 indicator feature marks it; with `numeric_embedding`, each value is
  then embedded (Gorishniy et al. 2022, https://arxiv.org/abs/2203.05556):
  "piecewise_linear" encodes it on `num_bins` bins whose edges are
  quantiles of the training values, "periodic" as sines and cosines of
  `num_frequencies` trainable frequencies, each followed by a linear layer
  per value and a ReLU to `embedding_dim` numbers;
- "categorical" and "id" (string or int64): a string or integer lookup
  with one out-of-vocabulary bucket for values unseen in training, then an
  `Embedding`; `id_max_tokens` caps the vocabulary of "id" columns; every
  value is an ordinary key ("", whitespace, line breaks, -1, 0 ...);
- "text" (string): `TextVectorization` on word or character n-grams, as
  TF-IDF weights or a learned embedding bag.

The lookup and vectorization layers are those of `mtl_zoo.layers.lookups`:
their adapted vocabularies (and IDF weights) are part of the layer config,
so `.keras` and the SavedModel look up every value exactly as in training.

The stem concatenates the columns' features; the trunk's blocks are an
optional DCN-v2 cross block (`mtl_zoo.trunks.cross`) and then one dense
block per entry of `units`, so `shared_depth` and every sharing scheme apply
to them. The preprocessing and embedding layers sit in the stem and are
shared by all tasks. The preprocessing layers are adapted by `Trunk.adapt`
on the training split before the model is built; the saved model (`.keras`
and SavedModel) then takes raw column values.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.features import features
>>> inputs = {"age": InputSpec((), feature_type="numeric"),
...           "city": InputSpec((), "string", feature_type="categorical")}
>>> trunk = features(inputs, units=[16, 8], cross_layers=2)
>>> trunk.num_blocks
3
>>> rows = tf.data.Dataset.from_tensor_slices({"age": [31.0, float("nan"), 45.0],
...                                            "city": ["oslo", "rome", "oslo"]})
>>> trunk.adapt(rows).needs_adaptation
False
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Literal, Optional

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.feature_types import FEATURE_TYPES
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.columns import LookupColumn, NumericColumn, NumericEmbedding, TextColumn
from mtl_zoo.trunks.cross import cross_block
from mtl_zoo.trunks.mlp import check_mlp_options, mlp_block


@dataclasses.dataclass(frozen=True)
class ColumnType:
    """How the trunk takes inputs of one feature type.

    Args:
        needs: str. The dtype and shape an input of the type needs, for the
            error that refuses one.
        fits: callable. `fits(shape, dtype)`: whether an input of that shape
            (tuple) and dtype (str) can be taken.
        build: callable. `build(name, spec, options)` returns the column
            object of input `name`; `options` is a dict of the trunk's
            column options (`embedding_dim`, `id_max_tokens`, `text_*`,
            `numeric_embedding`: a `NumericEmbedding` or None).
    """

    needs: str
    fits: Callable
    build: Callable


def _is_float(shape: tuple, dtype: str) -> bool:
    return len(shape) <= 1 and dtype.startswith("float")


def _is_key(shape: tuple, dtype: str) -> bool:
    return shape == () and dtype in ("string", "int64")


def _is_string(shape: tuple, dtype: str) -> bool:
    return shape == () and dtype == "string"


def _numeric_column(name: str, spec, options: dict) -> NumericColumn:
    return NumericColumn(name, spec, embedding=options["numeric_embedding"])


def _categorical_column(name: str, spec, options: dict) -> LookupColumn:
    return LookupColumn(name, spec, options["embedding_dim"])


def _id_column(name: str, spec, options: dict) -> LookupColumn:
    return LookupColumn(name, spec, options["embedding_dim"], options["id_max_tokens"])


def _text_column(name: str, spec, options: dict) -> TextColumn:
    return TextColumn(name, options["text_output"], options["text_split"], options["text_ngrams"],
                      options["text_max_tokens"], options["text_sequence_length"], options["embedding_dim"])


_KEYS = "dtype 'string' or 'int64' and shape ()"
# Feature type (`mtl_zoo.feature_types.FEATURE_TYPES`) -> how the trunk takes it.
COLUMN_TYPES = {
    "numeric": ColumnType("a float dtype and shape () or (width,)", _is_float, _numeric_column),
    "categorical": ColumnType(_KEYS, _is_key, _categorical_column),
    "id": ColumnType(_KEYS, _is_key, _id_column),
    "text": ColumnType("dtype 'string' and shape ()", _is_string, _text_column),
}


class FeatureColumns:
    """The stem of the `features` trunk: one column object per input, concatenated.

    Args:
        columns: dict. Input name -> column (`NumericColumn`, `LookupColumn`
            or `TextColumn`).
    """

    def __init__(self, columns: dict):
        self.columns = columns

    def adapt(self, batches) -> None:
        """Adapts every column on a batched dataset of feature dicts (cached in memory for the passes)."""
        missing = sorted(set(self.columns) - set(batches.element_spec))
        if missing:
            raise ValueError(
                f"The adaptation data has no column {missing[0]!r}; it has {sorted(batches.element_spec)}. "
                f"Received: missing columns {missing}"
            )
        names = list(self.columns)
        batches = batches.map(lambda row: {name: row[name] for name in names}).cache()
        for column in self.columns.values():
            column.adapt(batches)

    def __call__(self, inputs: dict):
        tensors = [column(inputs[name]) for name, column in self.columns.items()]
        if len(tensors) == 1:
            return tensors[0]
        return keras.layers.Concatenate(name="features_concatenate")(tensors)


def _check_inputs(inputs: dict) -> None:
    """Raises a one-line `ValueError` for an input the trunk cannot preprocess."""
    if not inputs:
        raise ValueError("The features trunk needs at least one input column. Received: inputs={}")
    for name, spec in inputs.items():
        kind, shape, dtype = spec.feature_type, tuple(spec.shape), str(spec.dtype)
        column_type = COLUMN_TYPES.get(kind)
        if column_type is None:
            problem = "has no feature_type (an image or dense tensor? use vision_conv or mlp)" if kind is None \
                else "has an unknown feature_type"
        else:
            problem = None if column_type.fits(shape, dtype) else f"is {kind}, so it needs {column_type.needs}"
        if problem:
            raise ValueError(
                f"The features trunk cannot take input '{name}': it {problem}; feature types: "
                f"{', '.join(FEATURE_TYPES)}. Received: feature_type={kind!r}, dtype={dtype!r}, shape={shape}"
            )


def _check_positive(option: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(option, f"features needs an integer {option} >= {minimum}. Received: {option}={value!r}")


@TRUNKS.register("features")
def features(
    inputs: dict,
    units: List[int] = (64, 32),
    dropout: float = 0.0,
    batch_norm: bool = False,
    embedding_dim: int = 8,
    id_max_tokens: Optional[int] = None,
    cross_layers: int = 0,
    text_output: Literal["tf_idf", "embedding_bag"] = "tf_idf",
    text_split: Literal["word", "character"] = "word",
    text_ngrams: int = 1,
    text_max_tokens: int = 1000,
    text_sequence_length: int = 32,
    numeric_embedding: Literal["none", "piecewise_linear", "periodic"] = "none",
    num_bins: int = 16,
    num_frequencies: int = 16,
    frequency_scale: float = 0.1,
) -> Trunk:
    """Raw numeric, categorical, id and text columns, preprocessed in the model, then dense blocks.

    Blocks, in order: a DCN-v2 cross block when `cross_layers > 0`, then one
    dense block (Dense, optional batch norm, ReLU, optional dropout) per
    entry of `units`. The trunk needs `adapt` on the training split's
    features before a model is built from it.

    Args:
        inputs: dict. Input name -> `InputSpec` with `feature_type`
            "numeric", "categorical", "id" or "text" (see the module doc).
        units: list of int. Width of each dense block. Defaults to [64, 32].
        dropout: float. Dropout after each dense block. Defaults to 0.0.
        batch_norm: bool. Batch normalization in each dense block.
            Defaults to False.
        embedding_dim: int. Width of the embedding of each categorical and
            id column (of text tokens with "embedding_bag", and of each
            numeric value with a `numeric_embedding`). Defaults to 8.
        id_max_tokens: int or None. Vocabulary size of each id column, the
            OOV bucket included: rarer values share the OOV bucket.
            Defaults to None (every value seen in training).
        cross_layers: int. Layers of the cross block; 0 for none.
            Defaults to 0.
        text_output: str. "tf_idf" (TF-IDF weights of the vocabulary's
            n-grams, at most `text_max_tokens` of them) or "embedding_bag" (the mean embedding of the tokens, padding
            masked). Defaults to "tf_idf".
        text_split: str. Tokens are "word" or "character" n-grams.
            Defaults to "word".
        text_ngrams: int. N-grams of 1 to `text_ngrams` tokens. Defaults to 1.
        text_max_tokens: int. Vocabulary size of each text column (most
            frequent n-grams). Defaults to 1000.
        text_sequence_length: int. Tokens per text kept by "embedding_bag".
            Defaults to 32.
        numeric_embedding: str. "none" (each numeric value enters as its
            normalized self), "piecewise_linear" or "periodic" (embedded to
            `embedding_dim` numbers, see the module doc). Defaults to "none".
        num_bins: int. Quantile bins per numeric value with
            "piecewise_linear" (fewer when training values tie).
            Defaults to 16.
        num_frequencies: int. Frequencies per numeric value with
            "periodic". Defaults to 16.
        frequency_scale: float. Standard deviation of the initial
            frequencies with "periodic" (cycles per standard deviation of
            the value). Defaults to 0.1.

    Returns:
        A `Trunk` whose `adaptation` adapts the columns' preprocessing layers.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> features({"review": InputSpec((), "string", feature_type="text")},
    ...          text_split="character", text_ngrams=3).num_blocks
    2
    """
    _check_inputs(inputs)
    _check_positive("cross_layers", cross_layers, minimum=0)
    check_mlp_options("features", units, dropout, allow_no_units=cross_layers > 0)
    _check_positive("embedding_dim", embedding_dim)
    if id_max_tokens is not None:
        _check_positive("id_max_tokens", id_max_tokens, minimum=2)
    if text_output not in ("tf_idf", "embedding_bag"):
        raise OptionError(
            "text_output", f"features needs text_output 'tf_idf' or 'embedding_bag'. Received: {text_output!r}"
        )
    if text_split not in ("word", "character"):
        raise OptionError("text_split", f"features needs text_split 'word' or 'character'. Received: {text_split!r}")
    _check_positive("text_ngrams", text_ngrams)
    _check_positive("text_max_tokens", text_max_tokens, minimum=3)
    _check_positive("text_sequence_length", text_sequence_length)
    if numeric_embedding not in ("none", "piecewise_linear", "periodic"):
        raise OptionError("numeric_embedding", "features needs numeric_embedding 'none', 'piecewise_linear' or "
                                               f"'periodic'. Received: {numeric_embedding!r}")
    _check_positive("num_bins", num_bins, minimum=2)
    _check_positive("num_frequencies", num_frequencies)
    if isinstance(frequency_scale, bool) or not isinstance(frequency_scale, (int, float)) or not frequency_scale > 0:
        raise OptionError("frequency_scale",
                          f"features needs a frequency_scale > 0. Received: frequency_scale={frequency_scale!r}")

    embedding = None if numeric_embedding == "none" else NumericEmbedding(
        numeric_embedding, embedding_dim, num_bins, num_frequencies, float(frequency_scale))
    options = {"embedding_dim": embedding_dim, "id_max_tokens": id_max_tokens, "text_output": text_output,
               "text_split": text_split, "text_ngrams": text_ngrams, "text_max_tokens": text_max_tokens,
               "text_sequence_length": text_sequence_length, "numeric_embedding": embedding}
    stem = FeatureColumns({name: COLUMN_TYPES[spec.feature_type].build(name, spec, options)
                           for name, spec in inputs.items()})
    blocks = [cross_block(cross_layers)] if cross_layers else []
    blocks += [mlp_block(units_of_block, dropout, batch_norm) for units_of_block in units]
    return Trunk(blocks=blocks, stem=stem, adaptation=stem.adapt)
