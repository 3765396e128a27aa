"""Text layers: subword embeddings and masked pooling; the earlier token embedding and Transformer block.

The `text` trunk (`mtl_zoo.trunks.text`) stacks `SubwordEmbedding` and the
pooling layers with `keras_hub.layers.TokenAndPositionEmbedding` and
`keras_hub.layers.TransformerEncoder`. `TokenAndPositionEmbedding` and
`TransformerEncoderBlock` here are what the trunk used before; they are kept,
registered, so `.keras` files written with them still load. Each layer is
registered under the package `mtl_zoo`.
"""

from __future__ import annotations

import keras
from keras import ops


# The punctuation `TextVectorization` strips with standardize="lower_and_strip_punctuation".
PUNCTUATION_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def standardize_text(strings, standardize: str):
    """The strings as `TextVectorization(standardize=...)` sees them before it splits on whitespace.

    Args:
        strings: string tensor.
        standardize: str. "lower_and_strip_punctuation", "lower" or "none".

    Example:

    >>> standardize_text(["Hello, World!"], "lower_and_strip_punctuation").numpy().tolist()
    [b'hello world']
    >>> standardize_text(["U.N. , Rome"], "none").numpy().tolist()
    [b'U.N. , Rome']
    """
    import tensorflow as tf

    strings = tf.convert_to_tensor(strings, dtype=tf.string)
    if standardize in ("lower", "lower_and_strip_punctuation"):
        strings = tf.strings.lower(strings)
    if standardize == "lower_and_strip_punctuation":
        strings = tf.strings.regex_replace(strings, PUNCTUATION_REGEX, "")
    return strings


@keras.saving.register_keras_serializable(package="mtl_zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token ids -> token embedding + learned position embedding; id 0 (padding) is masked.

    Kept so `.keras` files written before the `text` trunk used
    `keras_hub.layers.TokenAndPositionEmbedding(..., mask_zero=True)` still
    load; new models use that layer (the same weights and outputs).

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
class SubwordEmbedding(keras.layers.Layer):
    """Raw strings -> per word, the mean embedding of its hashed character n-grams (fastText subwords).

    Each text is standardized and split on whitespace exactly as the trunk's
    `TextVectorization` does, so word `i` here is token `i` there; the
    first `sequence_length` words are kept. A word is wrapped in `<` and
    `>` and cut into its character n-grams of 2 to `max_ngram` characters
    ("big" -> "<b", "bi", "ig", "g>", "<bi", "big", "ig>"); each n-gram is
    hashed (`tf.strings.to_hash_bucket_fast`, stable across processes) into
    one of `num_buckets` rows of an embedding table, and the word's vector is
    the mean of its rows. Words never seen in training still get a vector
    from their spelling (Bojanowski et al., 2017,
    https://arxiv.org/abs/1607.04606). Padded positions are zeros. String
    processing is TensorFlow's (as in `TextVectorization`).

    Args:
        num_buckets: int. Rows of the n-gram embedding table.
        sequence_length: int. Words kept per text.
        embedding_dim: int. Embedding width.
        max_ngram: int. Longest character n-gram. Defaults to 4.
        standardize: str. "lower_and_strip_punctuation", "lower" or
            "none", as the trunk's vectorizer. Defaults to
            "lower_and_strip_punctuation".

    Example:

    >>> import numpy as np
    >>> layer = SubwordEmbedding(num_buckets=64, sequence_length=4, embedding_dim=3)
    >>> vectors = layer(np.array(["big fish", "fish"])).numpy()
    >>> vectors.shape, bool((vectors[0, 1] == vectors[1, 0]).all()), bool((vectors[:, 2:] == 0).all())
    ((2, 4, 3), True, True)
    """

    def __init__(self, num_buckets: int, sequence_length: int, embedding_dim: int, max_ngram: int = 4,
                 standardize: str = "lower_and_strip_punctuation", **kwargs):
        super().__init__(**kwargs)
        self.num_buckets = num_buckets
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.max_ngram = max_ngram
        self.standardize = standardize
        self.embeddings = None

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.num_buckets, self.embedding_dim), initializer="uniform", name="embeddings"
        )
        self.built = True

    def ngram_ids(self, strings):
        """Ragged `(batch, words, n-grams)` bucket ids of each kept word's character n-grams."""
        import tensorflow as tf

        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank > 1:
            strings = tf.squeeze(strings, axis=-1)
        words = tf.strings.split(standardize_text(strings, self.standardize))[:, : self.sequence_length]
        wrapped = tf.ragged.map_flat_values(lambda values: tf.strings.join(["<", values, ">"]), words)
        characters = tf.strings.unicode_split(wrapped, "UTF-8")
        ngrams = tf.strings.ngrams(characters, ngram_width=list(range(2, self.max_ngram + 1)), separator="")
        return tf.ragged.map_flat_values(tf.strings.to_hash_bucket_fast, ngrams, self.num_buckets)

    def call(self, strings):
        import tensorflow as tf

        ids = self.ngram_ids(strings)
        words = ids.values  # (all words of the batch, n-grams)
        vectors = tf.math.unsorted_segment_mean(
            tf.gather(self.embeddings, words.flat_values), words.value_rowids(), words.nrows()
        )
        per_text = tf.RaggedTensor.from_row_splits(vectors, ids.row_splits)
        return per_text.to_tensor(0.0, shape=[None, self.sequence_length, self.embedding_dim])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.sequence_length, self.embedding_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "num_buckets": self.num_buckets,
            "sequence_length": self.sequence_length,
            "embedding_dim": self.embedding_dim,
            "max_ngram": self.max_ngram,
            "standardize": self.standardize,
        }


@keras.saving.register_keras_serializable(package="mtl_zoo")
class TransformerEncoderBlock(keras.layers.Layer):
    """A post-norm Transformer encoder block; padded positions are never attended to.

    Kept so `.keras` files written before the `text` trunk used
    `keras_hub.layers.TransformerEncoder` still load; new models use that
    layer: the same weights and architecture, except that its layer norms
    have epsilon 1e-5 (1e-3 here) and it also drops out the attention output.

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


@keras.saving.register_keras_serializable(package="mtl_zoo")
class MaskedMeanMaxPooling(keras.layers.Layer):
    """The mean and the maximum over the sequence axis of the unmasked positions, concatenated.

    The mean summarizes the whole text, the maximum keeps the strongest
    value of each feature at any one token (a keyword detector). A text
    with no token gives zeros.

    Example:

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]])
    >>> MaskedMeanMaxPooling()(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        weights = ops.cast(mask, inputs.dtype)[:, :, None]
        count = ops.sum(weights, axis=1)
        mean = ops.sum(inputs * weights, axis=1) / ops.maximum(count, 1.0)
        lowest = ops.min(inputs) - 1.0
        maximum = ops.max(ops.where(ops.cast(weights, "bool"), inputs, lowest), axis=1)
        maximum = ops.where(count > 0, maximum, ops.zeros_like(maximum))
        return ops.concatenate([mean, maximum], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])
