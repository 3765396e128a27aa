"""`EmbeddingBag`: the mean of a text column's word embeddings.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtl_zoo")
class EmbeddingBag(keras.layers.Layer):
    """The mean of the embeddings of a sequence's tokens; token 0 is padding and is left out.

    A sequence of padding only (empty text) gives a zero vector.

    Args:
        input_dim: int. Vocabulary size (token ids are below it).
        output_dim: int. Embedding width.
        **kwargs: Keras layer arguments (`name`, ...).

    Input `[batch, length]` int token ids; output `[batch, output_dim]`.

    Example:

    >>> import numpy as np
    >>> bag = EmbeddingBag(input_dim=4, output_dim=2)
    >>> tuple(bag(np.array([[1, 2, 0], [0, 0, 0]])).shape)
    (2, 2)
    """

    def __init__(self, input_dim: int, output_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), name="embeddings", initializer="uniform"
        )

    def call(self, inputs):
        vectors = ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)
        present = ops.expand_dims(ops.cast(ops.not_equal(inputs, 0), vectors.dtype), -1)
        counts = ops.maximum(ops.sum(present, axis=1), 1.0)
        return ops.sum(vectors * present, axis=1) / counts

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}
