"""The `text` trunk: raw strings in, tokenized inside the model, then encoder blocks.

The stem vectorizes each string with a `TextVectorization` layer (the one the
`features` trunk uses for its text columns, `mtl_zoo.trunks.columns.TextColumn`,
in "int" mode) adapted on the training split by `Trunk.adapt`, then adds token
and position embeddings (`TokenAndPositionEmbedding`, which marks token id 0,
the padding, as masked). The blocks are encoder blocks, Transformer
(`TransformerEncoderBlock`) or BiLSTM, followed by a masked mean pooling block
(`MaskedMeanPooling`) for sentence-level tasks; with `pooling="none"` the trunk
keeps one vector per token. Padding is carried by the Keras mask, so
attention never looks at padded positions and pooling averages real tokens only.
The saved model (`.keras` and SavedModel) takes raw strings.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.text import text
>>> trunk = text({"title": InputSpec((), "string")}, num_blocks=2, sequence_length=8)
>>> trunk.num_blocks
3
>>> titles = tf.data.Dataset.from_tensor_slices({"title": ["the big sleep", "big fish"]})
>>> trunk.adapt(titles).needs_adaptation
False
"""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.columns import TextColumn

ENCODERS = ("transformer", "bilstm")
POOLINGS = ("mean", "none")


@keras.saving.register_keras_serializable(package="mtl_zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token ids -> token embedding + learned position embedding; id 0 (padding) is masked.

    Args:
        vocabulary_size: int. Number of token ids (padding and OOV included).
        sequence_length: int. Tokens per text.
        embedding_dim: int. Embedding width.

    Example:

    >>> import numpy as np
    >>> layer = TokenAndPositionEmbedding(10, 4, 3)
    >>> tuple(layer(np.array([[5, 2, 0, 0]])).shape)
    (1, 4, 3)
    >>> layer.compute_mask(np.array([[5, 2, 0, 0]])).numpy().tolist()
    [[True, True, False, False]]
    """

    def __init__(self, vocabulary_size: int, sequence_length: int, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.tokens = keras.layers.Embedding(vocabulary_size, embedding_dim, name="tokens")
        self.positions = keras.layers.Embedding(sequence_length, embedding_dim, name="positions")

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((self.sequence_length,))
        self.built = True

    def call(self, token_ids):
        token_ids = ops.cast(token_ids, "int32")
        positions = ops.arange(ops.shape(token_ids)[-1])
        return self.tokens(token_ids) + self.positions(positions)[None, :, :]

    def compute_mask(self, token_ids, mask=None):
        return ops.not_equal(token_ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "embedding_dim": self.embedding_dim,
        }


@keras.saving.register_keras_serializable(package="mtl_zoo")
class TransformerEncoderBlock(keras.layers.Layer):
    """A post-norm Transformer encoder block; padded positions are never attended to.

    `x + MultiHeadAttention(x, x)` then layer norm, `x + FFN(x)` then layer
    norm (Vaswani et al., 2017). The attention mask comes from the input's
    Keras mask (keys only: a padded query position still gets an output,
    which later layers ignore through the same mask).

    Args:
        num_heads: int. Attention heads.
        key_dim: int. Width of each head's queries and keys.
        ffn_units: int. Hidden width of the feed-forward network.
        dropout: float. Dropout on the attention weights and the FFN output.
            Defaults to 0.0.

    Example:

    >>> import numpy as np
    >>> block = TransformerEncoderBlock(num_heads=2, key_dim=4, ffn_units=8)
    >>> tuple(block(np.zeros((1, 5, 6)), mask=np.array([[True, True, False, False, False]])).shape)
    (1, 5, 6)
    """

    def __init__(self, num_heads: int, key_dim: int, ffn_units: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.ffn_units = ffn_units
        self.dropout = dropout
        self.attention = keras.layers.MultiHeadAttention(num_heads, key_dim, dropout=dropout, name="attention")
        self.attention_norm = keras.layers.LayerNormalization(name="attention_norm")
        self.ffn_hidden = keras.layers.Dense(ffn_units, activation="relu", name="ffn_hidden")
        self.ffn_output = None
        self.ffn_dropout = keras.layers.Dropout(dropout, name="ffn_dropout")
        self.ffn_norm = keras.layers.LayerNormalization(name="ffn_norm")

    def build(self, input_shape):
        width = input_shape[-1]
        self.attention.build(input_shape, input_shape)
        self.attention_norm.build(input_shape)
        self.ffn_hidden.build(input_shape)
        self.ffn_output = keras.layers.Dense(width, name="ffn_output")
        self.ffn_output.build((*input_shape[:-1], self.ffn_units))
        self.ffn_norm.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        attention_mask = None
        if mask is not None:
            keys = ops.cast(mask, "bool")[:, None, :]
            attention_mask = ops.broadcast_to(keys, (ops.shape(inputs)[0], ops.shape(inputs)[1], ops.shape(inputs)[1]))
        attended = self.attention(inputs, inputs, attention_mask=attention_mask, training=training)
        x = self.attention_norm(inputs + attended)
        hidden = self.ffn_dropout(self.ffn_output(self.ffn_hidden(x)), training=training)
        return self.ffn_norm(x + hidden)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ffn_units": self.ffn_units,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="mtl_zoo")
class MaskedMeanPooling(keras.layers.Layer):
    """The mean over the sequence axis of the unmasked positions (0 for a text with no token).

    Example:

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]])
    >>> MaskedMeanPooling()(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[2.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.cast(mask, inputs.dtype)[:, :, None]
        total = ops.sum(inputs * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


def _transformer_block(num_heads: int, key_dim: int, ffn_units: int, dropout: float):
    def make(prefix: str):
        return TransformerEncoderBlock(num_heads, key_dim, ffn_units, dropout, name=prefix)

    return make


def _bilstm_block(units: int, dropout: float):
    def make(prefix: str):
        return keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=True, dropout=dropout, name=f"{prefix}_lstm"), name=prefix
        )

    return make


def _pooling_block(prefix: str):
    return MaskedMeanPooling(name=prefix)


class TextStem:
    """The stem of the `text` trunk: `TextVectorization` then token and position embeddings.

    Args:
        name: str. The string input's name.
        max_tokens: int. Vocabulary size (padding and OOV included).
        sequence_length: int. Tokens kept per text (shorter texts are padded).
        embedding_dim: int. Embedding width.
    """

    def __init__(self, name: str, max_tokens: int, sequence_length: int, embedding_dim: int):
        self.name = name
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.column = TextColumn(name, "embedding_bag", "word", 1, max_tokens, sequence_length, embedding_dim)

    def adapt(self, batches) -> None:
        """Learns the vocabulary of the training split's texts."""
        self.column.adapt(batches)

    def __call__(self, inputs: dict):
        vectorizer = self.column.vectorizer
        token_ids = vectorizer(inputs[self.name])
        return TokenAndPositionEmbedding(
            vectorizer.vocabulary_size(), self.sequence_length, self.embedding_dim, name=f"{self.name}_embedding"
        )(token_ids)


def _check_positive(option: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(option, f"text needs a positive integer {option}. Received: {option}={value!r}")


@TRUNKS.register("text")
def text(
    inputs: dict,
    encoder: Literal["transformer", "bilstm"] = "transformer",
    num_blocks: int = 2,
    embedding_dim: int = 32,
    num_heads: int = 2,
    ffn_units: int = 64,
    lstm_units: int = 32,
    dropout: float = 0.0,
    max_tokens: int = 10000,
    sequence_length: int = 16,
    pooling: Literal["mean", "none"] = "mean",
) -> Trunk:
    """Raw strings, vectorized in the model, through Transformer or BiLSTM encoder blocks.

    Blocks, in order: `num_blocks` encoder blocks, then (with
    `pooling="mean"`) a masked mean pooling block, so sharing depth counts
    `num_blocks + 1` blocks. The trunk needs `adapt` on the training split's
    features before a model is built from it.

    Args:
        inputs: dict. Input name -> `InputSpec`; exactly one string input
            of shape `()`.
        encoder: str. "transformer" (`TransformerEncoderBlock`) or
            "bilstm" (a bidirectional LSTM; output width `2 * lstm_units`).
            Defaults to "transformer".
        num_blocks: int. Encoder blocks. Defaults to 2.
        embedding_dim: int. Token and position embedding width (the
            Transformer blocks keep it). Defaults to 32.
        num_heads: int. Attention heads per Transformer block; each has
            key width `embedding_dim // num_heads`. Defaults to 2.
        ffn_units: int. Feed-forward width of the Transformer blocks.
            Defaults to 64.
        lstm_units: int. LSTM units per direction. Defaults to 32.
        dropout: float. Dropout in the encoder blocks. Defaults to 0.0.
        max_tokens: int. Vocabulary size, padding and OOV included (the
            most frequent words of the training split). Defaults to 10000.
        sequence_length: int. Words kept per text. Defaults to 16.
        pooling: str. "mean" (one vector per text, for sentence-level
            tasks) or "none" (one vector per token). Defaults to "mean".

    Returns:
        A `Trunk` whose `adaptation` learns the vocabulary.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> text({"title": InputSpec((), "string")}, encoder="bilstm", pooling="none").num_blocks
    2
    """
    specs = {name: (tuple(spec.shape), str(spec.dtype)) for name, spec in inputs.items()}
    if len(inputs) != 1 or any(spec != ((), "string") for spec in specs.values()):
        raise ValueError(
            "The text trunk takes exactly one string input of shape (); use the 'features' trunk for several "
            f"columns. Received: inputs={specs}"
        )
    if encoder not in ENCODERS:
        raise OptionError("encoder", f"text needs encoder 'transformer' or 'bilstm'. Received: encoder={encoder!r}")
    if pooling not in POOLINGS:
        raise OptionError("pooling", f"text needs pooling 'mean' or 'none'. Received: pooling={pooling!r}")
    for option, value in (("num_blocks", num_blocks), ("embedding_dim", embedding_dim), ("num_heads", num_heads),
                          ("ffn_units", ffn_units), ("lstm_units", lstm_units), ("sequence_length", sequence_length)):
        _check_positive(option, value)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 3:
        raise OptionError("max_tokens", f"text needs an integer max_tokens >= 3. Received: max_tokens={max_tokens!r}")
    if not 0.0 <= dropout < 1.0:
        raise OptionError("dropout", f"text needs 0 <= dropout < 1. Received: dropout={dropout}")
    if encoder == "transformer" and embedding_dim % num_heads:
        raise OptionError(
            "num_heads",
            f"text needs embedding_dim divisible by num_heads. Received: embedding_dim={embedding_dim}, "
            f"num_heads={num_heads}",
        )

    stem = TextStem(next(iter(inputs)), max_tokens, sequence_length, embedding_dim)
    if encoder == "transformer":
        block = _transformer_block(num_heads, embedding_dim // num_heads, ffn_units, dropout)
    else:
        block = _bilstm_block(lstm_units, dropout)
    blocks = [block] * num_blocks
    if pooling == "mean":
        blocks.append(_pooling_block)
    return Trunk(blocks=blocks, stem=stem, adaptation=stem.adapt)
