"""Embeddings of numeric features: piecewise-linear encoding on quantile bins, periodic encoding.

Gorishniy et al. 2022, "On Embeddings for Numerical Features in Tabular Deep
Learning" (https://arxiv.org/abs/2203.05556): a scalar fed to an MLP as it is
makes every function of it start as a linear one; encoding each value into a
vector first, then a small per-feature linear layer with a ReLU, lets the
network fit non-monotonic functions of one feature with narrow layers.

- `PiecewiseLinearEncoding` (PLE): `num_bins` bins whose edges `b_0 < ... < b_T`
  are quantiles of the training values (`adapt`); a value `x` becomes `T`
  numbers, 1 for the bins entirely below `x`, `(x - b_{t-1}) / (b_t - b_{t-1})`
  for the bin holding `x`, 0 for the bins above it. The first bin also takes
  values below `b_0` (negative) and the last values above `b_T` (above 1),
  as in the paper. The edges are in the layer config, so the encoding
  round-trips exactly.
- `PeriodicEncoding`: `concat(sin(2 pi c x), cos(2 pi c x))` with `k`
  trainable frequencies `c ~ N(0, frequency_scale)` per feature.
- `PerFeatureDense`: one linear layer (and activation) per feature, from its
  encoding to `units` numbers.

Inputs are `[batch, num_features]` floats with no NaN (the `features` trunk
fills missing values first); encodings are `[batch, num_features, size]`.

Example:

>>> import numpy as np
>>> encoding = PiecewiseLinearEncoding(num_bins=4)
>>> encoding.adapt(np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [np.nan]], "float32"))
>>> encoding.bin_edges
[[0.0, 1.0, 2.0, 3.0, 4.0]]
>>> encoding(np.array([[2.5]], "float32")).numpy().tolist()
[[[1.0, 1.0, 0.5, 0.0]]]
"""

from __future__ import annotations

import math
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def _batches_of(data):
    """Numpy `[rows, num_features]` batches of an array, a `tf.data.Dataset` or an iterable of batches."""
    if isinstance(data, (np.ndarray, tf.Tensor)):
        data = [data]
    elif isinstance(data, tf.data.Dataset):
        data = data.as_numpy_iterator()
    for batch in data:
        batch = np.asarray(batch, dtype="float64")
        yield batch.reshape(batch.shape[0] if batch.ndim else 1, -1)


def quantile_bin_edges(values: np.ndarray, num_bins: int) -> list:
    """Bin edges of one feature: its `num_bins + 1` quantiles, NaN and infinities ignored, repeats dropped.

    Args:
        values: 1-D numpy array of the feature's training values.
        num_bins: int. Bins wanted; ties in the data may leave fewer.

    Returns:
        A sorted list of distinct float32 values (as Python floats), at least one.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("A feature has no finite value, so it has no quantiles; fill it or drop it")
    edges = np.quantile(finite, np.linspace(0.0, 1.0, num_bins + 1))
    return [float(edge) for edge in np.unique(edges.astype("float32"))]


# === Layers ===


@keras.saving.register_keras_serializable(package="mtl_zoo")
class PiecewiseLinearEncoding(keras.layers.Layer):
    """Encodes each feature into `num_bins` piecewise-linear numbers on its quantile bins (PLE).

    See the module doc and https://arxiv.org/abs/2203.05556 (section 3.2).
    `adapt` sets the edges from training data. A feature whose values tie
    has fewer distinct quantiles, so fewer bins: the bins it lacks come
    after its real ones and always encode to 0. Computed in float32
    whatever the dtype policy.

    Args:
        num_bins: int. Bins per feature (the encoding's size). Defaults to 16.
        bin_edges: list of lists of float, or None. Per feature, its sorted
            distinct edges (at most `num_bins + 1`). Defaults to None (not
            adapted: edges 0, 1, ..., num_bins until `adapt`).
        **kwargs: Keras layer arguments (`name`, ...).

    Input `[batch, num_features]`; output `[batch, num_features, num_bins]`.

    Example:

    >>> import numpy as np
    >>> layer = PiecewiseLinearEncoding(num_bins=2, bin_edges=[[0.0, 1.0, 3.0]])
    >>> layer(np.array([[-1.0], [2.0], [5.0]], "float32")).numpy()[:, 0].tolist()
    [[-1.0, 0.0], [1.0, 0.5], [1.0, 2.0]]
    """

    def __init__(self, num_bins: int = 16, bin_edges: Optional[list] = None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
            raise ValueError(f"PiecewiseLinearEncoding needs an integer num_bins >= 1. Received: num_bins={num_bins!r}")
        self.num_bins = num_bins
        self.bin_edges = None if bin_edges is None else self._checked_edges(bin_edges)

    def _checked_edges(self, bin_edges) -> list:
        edges = [[float(edge) for edge in feature] for feature in bin_edges]
        for feature in edges:
            if not 1 <= len(feature) <= self.num_bins + 1 or any(b <= a for a, b in zip(feature, feature[1:])):
                raise ValueError(
                    f"Each feature's bin_edges must be 1 to num_bins + 1 = {self.num_bins + 1} increasing "
                    f"numbers. Received: {feature}"
                )
        return edges

    def adapt(self, data) -> None:
        """Sets the edges to each feature's quantiles on `data` (NaN ignored).

        Args:
            data: numpy array or tensor `[rows, num_features]`, a
                `tf.data.Dataset` of such batches, or an iterable of them.
        """
        columns = np.concatenate(list(_batches_of(data)), axis=0)
        self.bin_edges = [quantile_bin_edges(columns[:, feature], self.num_bins) for feature in range(columns.shape[1])]

    def bin_tables(self, num_features: int):
        """Per feature and bin: left edge, 1 / width and the clip bounds, as float32 `[num_features, num_bins]`."""
        edges = self.bin_edges
        if edges is None:
            edges = [list(range(self.num_bins + 1))] * num_features
        if len(edges) != num_features:
            raise ValueError(
                f"Layer '{self.name}' has bin edges for {len(edges)} features but its input has {num_features}. "
                f"Received: input width {num_features}"
            )
        shape = (num_features, self.num_bins)
        left, inverse_width = np.zeros(shape), np.zeros(shape)
        lower, upper = np.zeros(shape), np.ones(shape)
        for feature, feature_edges in enumerate(edges):
            num_real_bins = len(feature_edges) - 1
            if num_real_bins == 0:
                continue  # a constant feature: every bin encodes to 0
            bounds = np.asarray(feature_edges, "float64")
            left[feature, :num_real_bins] = bounds[:-1]
            inverse_width[feature, :num_real_bins] = 1.0 / np.diff(bounds)
            lower[feature, 0] = -np.inf  # the first bin extends below b_0
            upper[feature, num_real_bins - 1] = np.inf  # the last bin extends above b_T
        return tuple(np.asarray(table, "float32") for table in (left, inverse_width, lower, upper))

    def call(self, inputs):
        left, inverse_width, lower, upper = self.bin_tables(inputs.shape[-1])
        encoded = (ops.expand_dims(ops.cast(inputs, "float32"), -1) - left) * inverse_width
        return ops.minimum(ops.maximum(encoded, lower), upper)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.num_bins,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "bin_edges": self.bin_edges}


@keras.saving.register_keras_serializable(package="mtl_zoo")
class PeriodicEncoding(keras.layers.Layer):
    """Encodes each feature as `concat(sin(2 pi c x), cos(2 pi c x))` with trainable frequencies `c`.

    https://arxiv.org/abs/2203.05556 (section 3.3). Each feature has its own
    `num_frequencies` frequencies, initialized from `N(0, frequency_scale)`.
    Computed in float32 whatever the dtype policy (phases need the precision).

    Args:
        num_frequencies: int. Frequencies per feature; the encoding has twice
            as many numbers. Defaults to 16.
        frequency_scale: float. Standard deviation of the initial
            frequencies (in cycles per unit of the input). Defaults to 0.1.
        **kwargs: Keras layer arguments (`name`, ...).

    Input `[batch, num_features]`; output `[batch, num_features, 2 * num_frequencies]`
    (sines first).

    Example:

    >>> import numpy as np
    >>> layer = PeriodicEncoding(num_frequencies=3)
    >>> tuple(layer(np.zeros((2, 4), "float32")).shape)
    (2, 4, 6)
    """

    def __init__(self, num_frequencies: int = 16, frequency_scale: float = 0.1, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_frequencies = num_frequencies
        self.frequency_scale = frequency_scale

    def build(self, input_shape):
        self.frequencies = self.add_weight(
            shape=(input_shape[-1], self.num_frequencies),
            initializer=keras.initializers.RandomNormal(stddev=self.frequency_scale),
            name="frequencies",
        )

    def call(self, inputs):
        phases = 2.0 * math.pi * ops.expand_dims(ops.cast(inputs, "float32"), -1) * self.frequencies
        return ops.concatenate([ops.sin(phases), ops.cos(phases)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (2 * self.num_frequencies,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_frequencies": self.num_frequencies,
                "frequency_scale": self.frequency_scale}


@keras.saving.register_keras_serializable(package="mtl_zoo")
class PerFeatureDense(keras.layers.Layer):
    """One dense layer per feature: `[batch, num_features, size]` -> `[batch, num_features, units]`.

    Feature `i` gets `activation(x_i @ kernel[i] + bias[i])`; the kernel
    starts uniform in `+-1 / sqrt(size)` (each feature's own fan-in).

    Args:
        units: int. Output numbers per feature.
        activation: str or None. Keras activation. Defaults to "relu".
        **kwargs: Keras layer arguments (`name`, ...).

    Example:

    >>> import numpy as np
    >>> tuple(PerFeatureDense(5)(np.zeros((2, 3, 4), "float32")).shape)
    (2, 3, 5)
    """

    def __init__(self, units: int, activation: Optional[str] = "relu", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self._activation_name = activation

    def build(self, input_shape):
        num_features, size = input_shape[-2], input_shape[-1]
        limit = 1.0 / math.sqrt(size)
        self.kernel = self.add_weight(
            shape=(num_features, size, self.units),
            initializer=keras.initializers.RandomUniform(-limit, limit),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(num_features, self.units), initializer="zeros", name="bias")

    def call(self, inputs):
        return self.activation(ops.einsum("...fs,fsu->...fu", inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "activation": self._activation_name}
