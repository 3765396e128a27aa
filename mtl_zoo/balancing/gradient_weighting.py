"""`GradientWeighting`: gradient balancers whose direction is a weighted sum of the task gradients.

MGDA, PCGrad, CAGrad, IMTL-G, Nash-MTL, Aligned-MTL and UPGrad all move the
shared variables along `sum_t w_t g_t` for weights `w` they compute from the
task gradients `g_t` (mostly from their Gram matrix only). A subclass
implements `task_weights(grads)`; `aggregate` returns the weighted sum, and
the logged `{task}_weight` are those weights exactly (not a least-squares
fit of the direction; 0 for a task without a gradient on a step).

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancing.gradient_weighting import GradientWeighting
>>> class Halves(GradientWeighting):
...     def task_weights(self, grads):
...         return tf.fill([grads.shape[0]], 0.5)
>>> grads = tf.constant([[1.0, 0.0], [0.0, 4.0]])
>>> balancer = Halves()
>>> direction = balancer.aggregate(grads)
>>> direction.numpy().tolist(), balancer.implied_weights(grads, direction).numpy().tolist()
([0.5, 2.0], [0.5, 0.5])
"""

from __future__ import annotations

import tensorflow as tf

from mtl_zoo.balancing.base import GradientBalancer
from mtl_zoo.balancing.gradient_math import combine


class _LastWeights:
    """The gradient matrix of the latest `aggregate` call and the weights it used."""

    grads = None
    weights = None


class GradientWeighting(GradientBalancer):
    """Base class of gradient balancers whose direction is `task_weights(grads) @ grads`.

    Args:
        task_gradients: str. "vectorized" or "loop" (see `GradientBalancer`).
        **kwargs: Keras layer arguments.
    """

    def __init__(self, task_gradients: str = "vectorized", **kwargs):
        super().__init__(task_gradients=task_gradients, **kwargs)
        self._last = _LastWeights()

    def task_weights(self, grads):
        """Returns the weight of each task's gradient, `[num_tasks]`.

        Args:
            grads: float32 tensor `[num_tasks, dim]`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement task_weights().")

    def aggregate(self, grads):
        matrix = tf.convert_to_tensor(grads, tf.float32)
        weights = tf.cast(self.task_weights(matrix), tf.float32)
        # A task without a gradient on this step (no labels in the batch) is logged with weight 0.
        weights = tf.where(tf.reduce_any(matrix != 0.0, axis=1), weights, 0.0)
        self._last.grads, self._last.weights = grads, weights
        return combine(weights, matrix)

    def implied_weights(self, grads, direction):
        """The weights `aggregate` used for these `grads` (least squares for other matrices)."""
        if self._last.grads is grads:
            weights, self._last.grads, self._last.weights = self._last.weights, None, None
            return weights
        return super().implied_weights(grads, direction)
