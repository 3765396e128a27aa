"""`CrossColumns`: two key columns -> one string key per row, for the wide path's crossed features.

The wide part of a wide & deep model (Cheng et al. 2016,
https://arxiv.org/abs/1606.07792) memorizes co-occurrences with
cross-product features: one indicator per pair of values of two
categorical columns seen in training. `CrossColumns` writes each row's pair
as one string that names it exactly (the first value's length in bytes, a
colon, then both values: `("ab", "c")` -> `"2:abc"`, never the key of
`("a", "bc")`, which is `"1:abc"`), so an `ExactStringLookup` adapted on the
training split gives each pair seen there its own one-hot index; pairs never
seen in training share the out-of-vocabulary index. Integer columns are
written in decimal first.

Example:

>>> import numpy as np
>>> layer = CrossColumns()
>>> layer([np.array(["ab", "a"], dtype=object), np.array([7, 12])]).numpy().tolist()
[b'2:ab7', b'1:a12']
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _as_strings(values):
    values = tf.convert_to_tensor(values)
    if values.dtype != tf.string:
        values = tf.strings.as_string(values)
    return values


@keras.saving.register_keras_serializable(package="mtl_zoo")
class CrossColumns(keras.layers.Layer):
    """Two columns of keys (strings or integers), shape `(batch,)` -> one string key per row naming the pair.

    No weights and no arguments besides the Keras layer's (`name`).

    Example:

    >>> import numpy as np
    >>> CrossColumns()([np.array(["x"], dtype=object), np.array(["y:z"], dtype=object)]).numpy().tolist()
    [b'1:xy:z']
    """

    def call(self, inputs):
        first, second = (_as_strings(values) for values in inputs)
        return tf.strings.join([tf.strings.as_string(tf.strings.length(first)), ":", first, second])

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs[0].shape, dtype="string")
