"""GradDrop: keep, per coordinate, only the gradients of one sign, chosen by sign purity.

Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov, "Just Pick a Sign:
Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020,
https://arxiv.org/abs/2010.06808.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.graddrop import GradDrop
>>> direction = GradDrop(seed=1).aggregate(tf.constant([[1.0, -2.0], [3.0, -1.0]]))
>>> direction.numpy().tolist()  # the tasks agree on every sign: nothing is dropped
[4.0, -3.0]
"""

from __future__ import annotations

import numbers
from typing import Literal

import keras
import tensorflow as tf

from mtl_zoo.balancers.base import GradientBalancer
from mtl_zoo.balancers.gradient_math import RandomPerStep, least_squares_weights
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("graddrop")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class GradDrop(RandomPerStep, GradientBalancer):
    """Gradient sign dropout on the shared variables' gradients.

    For each coordinate, the sign purity `P = (1 + sum_t g_t / sum_t |g_t|) / 2`
    is the chance of keeping the positive task gradients there (and dropping
    the negative ones; otherwise the reverse), with one uniform draw per
    coordinate; the direction sums what is kept. Coordinates where all tasks
    agree keep everything. `leak` lets a fraction of every gradient through
    unmasked. The paper applies this to the gradients of a shared layer's
    activations; the per-task gradient seam gives gradients of the shared
    variables, so it is applied to those (the logged weights are a
    least-squares fit). Draws are a stateless function of `(seed, step)`
    with a step counter saved with the model: identical on every replica.

    Args:
        leak: float in [0, 1]. Fraction of each task gradient passed through
            unmasked. Defaults to 0.0.
        seed: int. Seed of the draws. Defaults to 0.
        task_gradients: str. "auto", "vectorized" or "loop" (see
            `GradientBalancer`). Defaults to "auto".
        **kwargs: Keras layer arguments.
    """

    def __init__(self, leak: float = 0.0, seed: int = 0,
                 task_gradients: Literal["auto", "vectorized", "loop"] = "auto", **kwargs):
        super().__init__(task_gradients=task_gradients, **kwargs)
        if not isinstance(leak, numbers.Real) or isinstance(leak, bool) or not (0.0 <= leak <= 1.0):
            raise OptionError("leak", f"GradDrop needs a leak between 0 and 1. Received: leak={leak!r}")
        self.leak = float(leak)
        self.set_seed(seed, "GradDrop")

    def aggregate(self, grads):
        grads = tf.convert_to_tensor(grads, tf.float32)
        purity = 0.5 * (1.0 + tf.math.divide_no_nan(tf.reduce_sum(grads, 0), tf.reduce_sum(tf.abs(grads), 0)))
        uniform = tf.random.stateless_uniform(tf.shape(grads)[1:], self.step_seed())
        keep = tf.where(grads > 0.0, (purity > uniform)[None, :], (purity < uniform)[None, :])
        kept = tf.where(keep, grads, 0.0)
        if self.leak:
            kept = self.leak * grads + (1.0 - self.leak) * kept
        return tf.reduce_sum(kept, axis=0)

    def implied_weights(self, grads, direction):
        """Least-squares weights of the direction, computed so that dependent task gradients stay finite."""
        return least_squares_weights(grads, direction)

    def get_config(self) -> dict:
        return {**super().get_config(), "leak": self.leak, "seed": self.seed}
