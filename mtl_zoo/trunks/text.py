"""The `text` trunk: raw strings in, tokenized inside the model, then encoder blocks.

The stem vectorizes each string with a `TextVectorization` layer (the one the
`features` trunk uses for its text columns, `mtl_zoo.trunks.columns.TextColumn`,
in "int" mode) adapted on the training split by `Trunk.adapt`, then adds token
and position embeddings (`keras_hub.layers.TokenAndPositionEmbedding` with
`mask_zero=True`, so token id 0, the padding, is masked). The blocks are
encoder blocks, Transformer (`keras_hub.layers.TransformerEncoder`, post-norm)
or BiLSTM, followed by a masked mean pooling block (`MaskedMeanPooling`) for
sentence-level tasks; with `pooling="none"` the trunk keeps one vector per
token. Padding is carried by the Keras mask, so attention never looks at
padded positions and pooling averages real tokens only. The saved model
(`.keras` and SavedModel) takes raw strings; Keras finds the `keras_hub`
classes of a `.keras` file by their module, in safe mode too. Files written
with the zoo's own `TokenAndPositionEmbedding` and `TransformerEncoderBlock`
(`mtl_zoo.layers.text`, used before) still load.

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

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.columns import adapt_in_graph
from mtl_zoo.layers.lookups import ExactTextVectorization
from mtl_zoo.layers.text import MaskedMeanMaxPooling, MaskedMeanPooling, SubwordEmbedding


ENCODERS = ("transformer", "bilstm")
POOLINGS = ("mean", "mean_max", "none")
STANDARDIZATIONS = ("lower_and_strip_punctuation", "lower", "none")


def _transformer_block(num_heads: int, ffn_units: int, dropout: float):
    def make(prefix: str):
        import keras_hub

        return keras_hub.layers.TransformerEncoder(ffn_units, num_heads, dropout=dropout, name=prefix)

    return make


def _bilstm_block(units: int, dropout: float):
    def make(prefix: str):
        return keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=True, dropout=dropout, name=f"{prefix}_lstm"), name=prefix
        )

    return make


def _pooling_block(prefix: str):
    return MaskedMeanPooling(name=prefix)


def _mean_max_pooling_block(prefix: str):
    return MaskedMeanMaxPooling(name=prefix)


class TextStem:
    """The stem of the `text` trunk: `TextVectorization`, token and position embeddings, optional subwords.

    Args:
        name: str. The string input's name.
        max_tokens: int. Vocabulary size (padding and OOV included).
        sequence_length: int. Tokens kept per text (shorter texts are padded).
        embedding_dim: int. Embedding width.
        standardize: str. "lower_and_strip_punctuation", "lower" or "none"
            (texts are then split on whitespace only). Defaults to
            "lower_and_strip_punctuation".
        subword_buckets: int. Rows of the `SubwordEmbedding` table added to
            each token's embedding; 0 for none. Defaults to 0.
        subword_ngrams: int. Longest character n-gram of the subwords.
            Defaults to 4.
        embedding_dropout: float. Dropout on the token embeddings (padding
            stays masked). Defaults to 0.0.
    """

    def __init__(self, name: str, max_tokens: int, sequence_length: int, embedding_dim: int,
                 standardize: str = "lower_and_strip_punctuation", subword_buckets: int = 0,
                 subword_ngrams: int = 4, embedding_dropout: float = 0.0):
        self.name = name
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.standardize = standardize
        self.subword_buckets = subword_buckets
        self.subword_ngrams = subword_ngrams
        self.embedding_dropout = embedding_dropout
        self.vectorizer = ExactTextVectorization(
            max_tokens=max_tokens,
            standardize=None if standardize == "none" else standardize,
            split="whitespace",
            output_mode="int",
            output_sequence_length=sequence_length,
            name=f"{name}_vectorizer",
        )

    def adapt(self, batches) -> None:
        """Learns the vocabulary of the training split's texts."""
        adapt_in_graph(self.vectorizer, batches.map(lambda features: features[self.name]))

    def __call__(self, inputs: dict):
        import keras_hub

        strings = inputs[self.name]
        embedded = keras_hub.layers.TokenAndPositionEmbedding(
            self.vectorizer.vocabulary_size(), self.sequence_length, self.embedding_dim, mask_zero=True,
            name=f"{self.name}_embedding",
        )(self.vectorizer(strings))
        if self.subword_buckets:
            subwords = SubwordEmbedding(
                self.subword_buckets, self.sequence_length, self.embedding_dim, self.subword_ngrams,
                self.standardize, name=f"{self.name}_subword_embedding",
            )(strings)
            # The subword embedding of a padded position is 0; marking it keeps the padding mask through the sum.
            subwords = keras.layers.Masking(0.0, name=f"{self.name}_subword_mask")(subwords)
            embedded = keras.layers.Add(name=f"{self.name}_token_and_subword_embedding")([embedded, subwords])
        if self.embedding_dropout:
            embedded = keras.layers.Dropout(self.embedding_dropout, name=f"{self.name}_embedding_dropout")(embedded)
        return embedded


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
    pooling: Literal["mean", "mean_max", "none"] = "mean",
    standardize: Literal["lower_and_strip_punctuation", "lower", "none"] = "lower_and_strip_punctuation",
    subword_buckets: int = 0,
    subword_ngrams: int = 4,
    embedding_dropout: float = 0.0,
) -> Trunk:
    """Raw strings, vectorized in the model, through Transformer or BiLSTM encoder blocks.

    Blocks, in order: `num_blocks` encoder blocks, then (with
    `pooling="mean"`) a masked mean pooling block, so sharing depth counts
    `num_blocks + 1` blocks. The trunk needs `adapt` on the training split's
    features before a model is built from it.

    Args:
        inputs: dict. Input name -> `InputSpec`; exactly one string input
            of shape `()`.
        encoder: str. "transformer" (`keras_hub.layers.TransformerEncoder`)
            or "bilstm" (a bidirectional LSTM; output width `2 * lstm_units`).
            Defaults to "transformer".
        num_blocks: int. Encoder blocks. Defaults to 2.
        embedding_dim: int. Token and position embedding width (the
            Transformer blocks keep it). Defaults to 32.
        num_heads: int. Attention heads per Transformer block; each has
            key width `embedding_dim // num_heads`. Defaults to 2.
        ffn_units: int. Feed-forward width of the Transformer blocks.
            Defaults to 64.
        lstm_units: int. LSTM units per direction. Defaults to 32.
        dropout: float. Dropout in the encoder blocks (Transformer: on the
            attention weights, the attention output and the feed-forward
            output; BiLSTM: on the LSTM inputs). Defaults to 0.0.
        max_tokens: int. Vocabulary size, padding and OOV included (the
            most frequent words of the training split). Defaults to 10000.
        sequence_length: int. Words kept per text. Defaults to 16.
        pooling: str. "mean" (one vector per text, for sentence-level
            tasks, `MaskedMeanPooling`), "mean_max" (the masked mean and
            maximum concatenated, `MaskedMeanMaxPooling`) or "none" (one
            vector per token). Defaults to "mean".
        standardize: str. What the vectorizer does before splitting on
            whitespace: "lower_and_strip_punctuation", "lower", or "none"
            (the text's whitespace-separated tokens are the tokens, one to
            one, as per-token tasks need). Defaults to
            "lower_and_strip_punctuation".
        subword_buckets: int. With a positive value, each token's embedding
            also gets the mean embedding of its hashed character n-grams
            (`SubwordEmbedding`, this many hash buckets), so rare and unseen
            words are represented by their spelling. Defaults to 0 (off).
        subword_ngrams: int. Longest character n-gram of the subwords
            (2 to this many characters). Defaults to 4.
        embedding_dropout: float. Dropout on the token (and subword)
            embeddings, before the encoder blocks. Defaults to 0.0.

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
        raise OptionError(
            "pooling", f"text needs pooling 'mean', 'mean_max' or 'none'. Received: pooling={pooling!r}"
        )
    if standardize not in STANDARDIZATIONS:
        raise OptionError(
            "standardize",
            f"text needs standardize 'lower_and_strip_punctuation', 'lower' or 'none'. "
            f"Received: standardize={standardize!r}",
        )
    if isinstance(subword_buckets, bool) or not isinstance(subword_buckets, int) or subword_buckets < 0:
        raise OptionError(
            "subword_buckets",
            f"text needs an integer subword_buckets >= 0 (0 turns subwords off). "
            f"Received: subword_buckets={subword_buckets!r}",
        )
    if isinstance(subword_ngrams, bool) or not isinstance(subword_ngrams, int) or subword_ngrams < 2:
        raise OptionError(
            "subword_ngrams", f"text needs an integer subword_ngrams >= 2. Received: subword_ngrams={subword_ngrams!r}"
        )
    for option, value in (("num_blocks", num_blocks), ("embedding_dim", embedding_dim), ("num_heads", num_heads),
                          ("ffn_units", ffn_units), ("lstm_units", lstm_units), ("sequence_length", sequence_length)):
        _check_positive(option, value)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 3:
        raise OptionError("max_tokens", f"text needs an integer max_tokens >= 3. Received: max_tokens={max_tokens!r}")
    for option, value in (("dropout", dropout), ("embedding_dropout", embedding_dropout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise OptionError(option, f"text needs 0 <= {option} < 1. Received: {option}={value!r}")
    if encoder == "transformer" and embedding_dim % num_heads:
        raise OptionError(
            "num_heads",
            f"text needs embedding_dim divisible by num_heads. Received: embedding_dim={embedding_dim}, "
            f"num_heads={num_heads}",
        )

    stem = TextStem(next(iter(inputs)), max_tokens, sequence_length, embedding_dim, standardize, subword_buckets,
                    subword_ngrams, embedding_dropout)
    if encoder == "transformer":
        block = _transformer_block(num_heads, ffn_units, dropout)
    else:
        block = _bilstm_block(lstm_units, dropout)
    blocks = [block] * num_blocks
    if pooling == "mean":
        blocks.append(_pooling_block)
    elif pooling == "mean_max":
        blocks.append(_mean_max_pooling_block)
    return Trunk(blocks=blocks, stem=stem, adaptation=stem.adapt)
