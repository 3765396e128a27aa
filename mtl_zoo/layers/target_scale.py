"""`TargetScale`: a regression head's standardized output mapped back to real units.

A regression task with `standardize_target` trains on standardized values:
its head's last dense layer predicts `z`, and this layer returns
`mean + std * z`, so the model's outputs (in `.keras`, in the SavedModel, in
the metrics) are in the label's own units. The task's loss compares
`standardize(label)` with `standardize(prediction)`, `(value - mean) / std`
(see `mtl_zoo.models.multi_task_model.MultiTaskModel`), which makes it the
same whatever the label's unit: for the mean squared error it is the
error in real units divided by `std ** 2`.

`mean` and `std` (one per output unit) are non-trainable weights, set by
`adapt` from the training split's labels (missing labels, NaN, left out;
`TargetMoments` accumulates them batch by batch) and saved with the model;
`get_config` returns their current values too. Before adaptation the layer is
the identity (mean 0, std 1).

Example:

>>> import numpy as np
>>> layer = TargetScale()
>>> layer.adapt(np.array([[1000.0], [1600.0], [np.nan]], "float32"))
>>> layer.get_config()["mean"], layer.get_config()["std"]
([1300.0], [300.0])
>>> layer(np.array([[0.0], [1.0]], "float32")).numpy().tolist()
[[1300.0], [1600.0]]
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["TargetMoments", "TargetScale", "target_scale_name"]


def target_scale_name(task_name: str) -> str:
    """The name of the `TargetScale` layer that ends task `task_name`'s head."""
    return f"{task_name}_target_scale"


class TargetMoments:
    """Per-unit count, mean and spread of labels, accumulated batch by batch (NaN left out).

    Batches are merged with Chan et al.'s pairwise update in float64, so one
    pass over a streamed split gives the same mean and standard deviation
    (population, `ddof=0`) as NumPy on the whole column.

    Args:
        units: int. Output units of the task; each batch is reshaped to
            `(-1, units)`.

    Example:

    >>> moments = TargetMoments(1)
    >>> moments.update(np.array([1.0, 2.0])); moments.update(np.array([np.nan, 6.0]))
    >>> [round(float(value[0]), 4) for value in moments.mean_std()]
    [3.0, 2.1602]
    """

    def __init__(self, units: int):
        self.units = int(units)
        self.count = np.zeros(self.units)
        self.mean = np.zeros(self.units)
        self.squares = np.zeros(self.units)  # sum of squared deviations from the mean

    def update(self, values) -> None:
        """Adds a batch of labels, `(batch,)` or `(batch, units)` (any shape ending in units)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.units)
        observed = np.isfinite(values)
        count = observed.sum(axis=0).astype(np.float64)
        safe = np.maximum(count, 1.0)
        batch_mean = np.where(observed, values, 0.0).sum(axis=0) / safe
        batch_squares = np.where(observed, (values - batch_mean) ** 2, 0.0).sum(axis=0)
        total = self.count + count
        delta = batch_mean - self.mean
        share = np.where(total > 0, count / np.maximum(total, 1.0), 0.0)
        self.mean = self.mean + delta * share
        self.squares = self.squares + batch_squares + delta ** 2 * self.count * share
        self.count = total

    def mean_std(self) -> tuple:
        """`(mean, std)`, float64 arrays of `units`: 0 and 1 for a unit without labels, std 1 for a constant one."""
        mean = np.where(self.count > 0, self.mean, 0.0)
        std = np.sqrt(self.squares / np.maximum(self.count, 1.0))
        std = np.where((self.count > 0) & (std > 1e-12 * np.maximum(np.abs(mean), 1.0)), std, 1.0)
        return mean, std


@keras.saving.register_keras_serializable(package="mtl_zoo")
class TargetScale(keras.layers.Layer):
    """Maps a standardized prediction `z` to real units: `mean + std * z`, per output unit.

    Args:
        mean: sequence of float or None. Label mean per output unit.
            Defaults to None (0 until `adapt`).
        std: sequence of float or None. Label standard deviation per output
            unit, positive. Defaults to None (1 until `adapt`).
        **kwargs: Keras layer arguments (`name`, ...). The layer computes
            in float32 whatever the dtype policy.

    Input and output `(batch, ..., units)`.

    Example:

    >>> TargetScale(mean=[10.0], std=[2.0])(np.array([[0.5]], "float32")).numpy().tolist()
    [[11.0]]
    """

    def __init__(self, mean=None, std=None, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.initial_mean = None if mean is None else [float(value) for value in np.ravel(mean)]
        self.initial_std = None if std is None else [float(value) for value in np.ravel(std)]
        if self.initial_std is not None and not all(np.isfinite(self.initial_std) & (np.array(self.initial_std) > 0)):
            raise ValueError(f"TargetScale needs positive finite standard deviations. Received: std={std!r}")

    def build(self, input_shape):
        units = int(input_shape[-1])
        for name, values in (("mean", self.initial_mean), ("std", self.initial_std)):
            if values is not None and len(values) != units:
                raise ValueError(f"TargetScale: {name} has {len(values)} values for {units} output units. "
                                 f"Received: {name}={values!r}")
        self.units = units
        self.mean = self.add_weight(name="mean", shape=(units,), trainable=False,
                                    initializer=self._initializer(self.initial_mean, 0.0))
        self.std = self.add_weight(name="std", shape=(units,), trainable=False,
                                   initializer=self._initializer(self.initial_std, 1.0))
        super().build(input_shape)

    @staticmethod
    def _initializer(values, default: float):
        if values is None:
            return keras.initializers.Constant(default)
        array = np.array(values, "float32")
        return lambda shape, dtype=None: ops.convert_to_tensor(array, dtype or "float32")

    def call(self, inputs):
        return ops.cast(inputs, "float32") * self.std + self.mean

    def standardize(self, values):
        """`(values - mean) / std`: labels or predictions in real units, standardized (NaN stays NaN)."""
        return (ops.cast(values, "float32") - self.mean) / self.std

    def set_statistics(self, mean, std) -> None:
        """Sets the mean and standard deviation per output unit (arrays of `units`)."""
        std = np.asarray(std, "float32").reshape(-1)
        if not np.all(np.isfinite(std) & (std > 0)):
            raise ValueError(f"TargetScale needs positive finite standard deviations. Received: std={std.tolist()!r}")
        self.mean.assign(np.asarray(mean, "float32").reshape(-1))
        self.std.assign(std)

    def adapt(self, data) -> None:
        """Sets mean and std from labels: an array, or an iterable of batches (NaN labels left out).

        Args:
            data: array `(examples,)` or `(examples, units)`, or an iterable
                (e.g. a `tf.data.Dataset`) of such batches.
        """
        if not self.built:
            if not hasattr(data, "shape"):
                raise ValueError(f"TargetScale '{self.name}' adapts to batches once it is built (called on its "
                                 f"input); an array builds it. Received: data of type {type(data).__name__}")
            self.build((None, data.shape[-1] if len(data.shape) > 1 else 1))
        moments = TargetMoments(self.units)
        batches = [data] if isinstance(data, np.ndarray) or hasattr(data, "shape") else data
        for batch in batches:
            moments.update(batch)
        self.set_statistics(*moments.mean_std())

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("dtype", None)
        if self.built:
            mean = [float(value) for value in ops.convert_to_numpy(self.mean)]
            std = [float(value) for value in ops.convert_to_numpy(self.std)]
        else:
            mean, std = self.initial_mean, self.initial_std
        return {**config, "mean": mean, "std": std}
