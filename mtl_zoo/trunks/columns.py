"""Raw columns to model features: adapted preprocessing layers that live inside the model.

Each column object owns the Keras preprocessing layer that must learn from
the training split (`Normalization`, or a lookup or vectorization layer of
`mtl_zoo.layers.lookups`, whose vocabulary is saved exactly), adapts it with
`column.adapt(batches)`, and adds the layers that turn one raw input into a
float feature matrix with `column(tensor)`. The adapted layer is created once per column and reused
by every network built from it; the trainable layers after it (embeddings)
are fresh for each network.

- `NumericColumn`: floats, normalized with the training mean and variance;
  a missing value (NaN) becomes 0 after normalization, i.e. the training
  mean, plus (optionally) a 0/1 indicator per value that says it was missing.
  With a `NumericEmbedding`, each normalized value is then embedded
  (piecewise-linear or periodic encoding, per-value linear layer, ReLU).
- `LookupColumn`: strings or int64 keys, looked up in the training
  vocabulary (index 0 is the out-of-vocabulary bucket for values never seen
  in training, so serving a new value is not an error), then embedded.
  Every value is an ordinary key: "", whitespace, line breaks, -1, 0.
- `TextColumn`: strings, vectorized by `TextVectorization` on word or
  character n-grams, as TF-IDF weights or as the mean of learned token
  embeddings (`EmbeddingBag`, padding masked).

Example:

>>> import numpy as np, tensorflow as tf, keras
>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.columns import LookupColumn
>>> column = LookupColumn("city", InputSpec((), "string", feature_type="categorical"), embedding_dim=2)
>>> column.adapt(tf.data.Dataset.from_tensor_slices({"city": ["oslo", "rome", "oslo"]}).batch(2))
>>> column.lookup(tf.constant(["oslo", "lima"])).numpy().tolist()
[1, 0]
>>> tuple(column(keras.Input((), dtype="string", name="city")).shape)
(None, 2)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import keras
import tensorflow as tf

from mtl_zoo.layers.lookups import ExactIntegerLookup, ExactStringLookup, ExactTextVectorization
from mtl_zoo.utils.names import layer_name
from mtl_zoo.layers.embedding_bag import EmbeddingBag
from mtl_zoo.layers.fill_missing import FillMissing, MissingIndicator
from mtl_zoo.layers.numeric_embeddings import PerFeatureDense, PeriodicEncoding, PiecewiseLinearEncoding


# === Columns ===


def _column_values(batches, name: str):
    return batches.map(lambda features: features[name], num_parallel_calls=tf.data.AUTOTUNE)


def adapt_in_graph(layer, batches) -> None:
    """`layer.adapt(batches)`, with the layer's `update_state` traced once as a `tf.function`.

    Same state as `adapt` (same calls: `reset_state`, `update_state` per
    batch, `finalize_state`), but `TextVectorization` in "tf_idf" mode
    deduplicates each document with a `map_fn` that runs eagerly under
    `adapt`: about 1.5 s per 1,024 texts on two cores, 30x slower than traced.

    Args:
        layer: an adaptable Keras preprocessing layer.
        batches: `tf.data.Dataset` of batches of the layer's input.
    """
    layer.reset_state()
    update = tf.function(layer.update_state, reduce_retracing=True)
    for batch in batches:
        update(batch)
    layer.finalize_state()


@dataclasses.dataclass(frozen=True)
class NumericEmbedding:
    """How a numeric column embeds each of its values (https://arxiv.org/abs/2203.05556).

    Args:
        kind: str. "piecewise_linear" (PLE on quantile bins of the training
            values) or "periodic" (sines and cosines of trainable frequencies).
        embedding_dim: int. Numbers per value after the per-value linear
            layer and ReLU.
        num_bins: int. Quantile bins of "piecewise_linear". Defaults to 16.
        num_frequencies: int. Frequencies of "periodic". Defaults to 16.
        frequency_scale: float. Standard deviation of the initial
            frequencies of "periodic", per unit of the normalized value.
            Defaults to 0.1.
    """

    kind: str
    embedding_dim: int
    num_bins: int = 16
    num_frequencies: int = 16
    frequency_scale: float = 0.1


class NumericColumn:
    """A float column (one value, or a vector) -> normalized values with NaN as 0, optionally embedded.

    `Normalization` is adapted on the training rows whose values are all
    finite; a NaN served to the model becomes 0 after normalization (the
    training mean), and with `indicators` a 0/1 feature marks it. With
    `embedding`, each filled value is encoded (`mtl_zoo.layers.numeric_embeddings`:
    piecewise-linear on bins whose edges are the quantiles of the column's
    normalized training values, NaN ignored, or periodic), then mapped to
    `embedding_dim` numbers by its own linear layer and a ReLU; the
    indicators follow the embeddings.

    Args:
        name: str. The input's name.
        spec: `InputSpec`. Shape `()` or `(width,)`, a float dtype.
        normalize: bool. Normalize with the training mean and variance
            (needs `adapt`). Defaults to True.
        indicators: bool. Append one missing-value indicator per value.
            Defaults to True.
        embedding: `NumericEmbedding` or None. Defaults to None (the
            normalized values themselves).
    """

    def __init__(self, name: str, spec, normalize: bool = True, indicators: bool = True,
                 embedding: Optional[NumericEmbedding] = None):
        self.name = name
        self.width = math.prod(spec.shape) if spec.shape else 1
        self.indicators = indicators
        self.embedding = embedding
        self.normalization = (
            keras.layers.Normalization(axis=-1, dtype="float32", name=f"{layer_name(name)}_normalization")
            if normalize else None
        )
        self.piecewise_linear = None
        if embedding is not None and embedding.kind == "piecewise_linear":
            self.piecewise_linear = PiecewiseLinearEncoding(
                embedding.num_bins, name=f"{layer_name(name)}_piecewise_linear"
            )

    def adapt(self, batches) -> None:
        """Learns the mean and variance of the finite rows of the column's batches.

        Raises:
            ValueError: if the column has no row of finite values.
        """
        if self.normalization is not None:
            self._adapt_normalization(batches)
        if self.piecewise_linear is not None:
            self._adapt_bin_edges(batches)

    def _rows(self, batches):
        return _column_values(batches, self.name).map(
            lambda values: tf.reshape(tf.cast(values, "float32"), (-1, self.width))
        )

    def _adapt_normalization(self, batches) -> None:
        def finite_rows(values):
            return tf.boolean_mask(values, tf.reduce_all(tf.math.is_finite(values), axis=-1))

        rows = self._rows(batches).map(finite_rows).filter(lambda values: tf.shape(values)[0] > 0)
        if int(rows.reduce(0, lambda count, values: count + tf.shape(values)[0])) == 0:
            raise ValueError(
                f"Numeric column '{self.name}' has no finite value in the training data, so it cannot be "
                "normalized; fill it or drop the column"
            )
        self.normalization.adapt(rows)

    def _adapt_bin_edges(self, batches) -> None:
        """Bin edges: quantiles of each value's (normalized) training values, NaN ignored."""
        rows = self._rows(batches)
        if self.normalization is not None:
            rows = (self.normalization(values) for values in rows)
        try:
            self.piecewise_linear.adapt(rows)
        except ValueError as error:
            raise ValueError(f"Numeric column '{self.name}': {error}") from None

    def __call__(self, tensor):
        prefix = layer_name(self.name)
        x = keras.layers.Reshape((self.width,), name=f"{prefix}_values")(tensor)
        if self.normalization is not None:
            x = self.normalization(x)
        if self.embedding is None:
            return FillMissing(indicators=self.indicators, name=f"{prefix}_fill_missing")(x)
        filled = FillMissing(indicators=False, name=f"{prefix}_fill_missing")(x)
        if self.piecewise_linear is not None:
            encoded = self.piecewise_linear(filled)
        else:
            encoded = PeriodicEncoding(self.embedding.num_frequencies, self.embedding.frequency_scale,
                                       name=f"{prefix}_periodic")(filled)
        embedded = PerFeatureDense(self.embedding.embedding_dim, name=f"{prefix}_numeric_embedding")(encoded)
        embedded = keras.layers.Reshape((self.width * self.embedding.embedding_dim,),
                                        name=f"{prefix}_embedded")(embedded)
        if not self.indicators:
            return embedded
        missing = MissingIndicator(name=f"{prefix}_missing")(x)
        return keras.layers.Concatenate(name=f"{prefix}_embedded_and_missing")([embedded, missing])


class LookupColumn:
    """A string or int64 key column -> vocabulary index -> learned embedding.

    The vocabulary is the training split's values, most frequent first;
    index 0 is the one out-of-vocabulary bucket, where values never seen in
    training (and those cut by `max_tokens`) land.

    Args:
        name: str. The input's name.
        spec: `InputSpec`. Shape `()`, dtype "string" or "int64".
        embedding_dim: int. Embedding width.
        max_tokens: int or None. Largest vocabulary, the OOV bucket
            included; the most frequent values are kept. Defaults to None
            (every training value).
    """

    def __init__(self, name: str, spec, embedding_dim: int, max_tokens: Optional[int] = None):
        self.name = name
        self.embedding_dim = embedding_dim
        lookup = ExactStringLookup if spec.dtype == "string" else ExactIntegerLookup
        self.lookup = lookup(num_oov_indices=1, max_tokens=max_tokens, name=f"{layer_name(name)}_lookup")

    def adapt(self, batches) -> None:
        """Learns the vocabulary of the column's batches."""
        self.lookup.adapt(_column_values(batches, self.name))

    def __call__(self, tensor):
        indices = self.lookup(tensor)
        return keras.layers.Embedding(
            self.lookup.vocabulary_size(), self.embedding_dim, name=f"{layer_name(self.name)}_embedding"
        )(indices)


class TextColumn:
    """A string column -> TF-IDF weights or the mean of learned token embeddings.

    Args:
        name: str. The input's name.
        output: str. "tf_idf" (TF-IDF weights, one per vocabulary entry)
            or "embedding_bag" (the mean embedding of the first
            `sequence_length` tokens).
        split: str. "word" (split on whitespace after lowercasing and
            stripping punctuation) or "character".
        ngrams: int. Tokens are n-grams of 1 to `ngrams` words or characters.
        max_tokens: int. Vocabulary size, the OOV token included (and the
            padding token for "embedding_bag"): the most frequent n-grams.
        sequence_length: int. Tokens kept per text for "embedding_bag".
        embedding_dim: int. Embedding width for "embedding_bag".
    """

    def __init__(self, name, output, split, ngrams, max_tokens, sequence_length, embedding_dim):
        self.name = name
        self.output = output
        self.max_tokens = max_tokens
        self.embedding_dim = embedding_dim
        options = {
            "max_tokens": max_tokens,
            "split": "whitespace" if split == "word" else "character",
            "ngrams": ngrams if ngrams > 1 else None,
            "name": f"{layer_name(name)}_vectorizer",
        }
        if output == "tf_idf":
            options.update(output_mode="tf_idf")
        else:
            options.update(output_mode="int", output_sequence_length=sequence_length)
        self.vectorizer = ExactTextVectorization(**options)

    def adapt(self, batches) -> None:
        """Learns the n-gram vocabulary (and IDF weights) of the column's batches."""
        adapt_in_graph(self.vectorizer, _column_values(batches, self.name))

    def __call__(self, tensor):
        tokens = self.vectorizer(tensor)
        if self.output == "tf_idf":
            if tokens.shape[-1] is None:  # not adapted yet: the width is the vocabulary size, at most max_tokens
                tokens = keras.layers.Reshape((self.max_tokens,), name=f"{layer_name(self.name)}_tf_idf")(tokens)
            return tokens
        return EmbeddingBag(
            self.vectorizer.vocabulary_size(), self.embedding_dim, name=f"{layer_name(self.name)}_embedding_bag"
        )(tokens)
