"""`GradientWeighting`: gradient balancers whose direction is a weighted sum of the task gradients.

MGDA, PCGrad, CAGrad, IMTL-G, Nash-MTL, Aligned-MTL and UPGrad all move the
shared variables along `sum_t w_t g_t` for weights `w` they compute from the
task gradients `g_t` through their Gram matrix `G G^T` only (the gradients'
inner products). A subclass implements `gram_weights(gram)`; `aggregate`
returns the weighted sum, and the logged `{task}_weight` are those weights
exactly (not a least-squares fit of the direction; 0 for a task without a
gradient on a step).

Because only inner products matter, every such method can also run on the
gradients with respect to the *shared representation* (`rep_grad=True`,
MGDA-UB: Sener & Koltun 2018, Section 3.3, https://arxiv.org/abs/1810.04650):
the model takes each task's gradient with respect to the output of the last
shared layer (`[batch, features]`, far smaller than the shared weights),
hands their Gram matrix to `representation_weights`, and the shared
variables then follow `sum_t w_t grad L_t` from one ordinary backward pass.

Example:

>>> import tensorflow as tf
>>> from mtl_zoo.balancers.gradient_weighting import GradientWeighting
>>> class Halves(GradientWeighting):
...     def gram_weights(self, gram):
...         return tf.fill([gram.shape[0]], 0.5)
>>> grads = tf.constant([[1.0, 0.0], [0.0, 4.0]])
>>> balancer = Halves()
>>> direction = balancer.aggregate(grads)
>>> direction.numpy().tolist(), balancer.implied_weights(grads, direction).numpy().tolist()
([0.5, 2.0], [0.5, 0.5])
"""

from __future__ import annotations

from typing import Literal

import tensorflow as tf

from mtl_zoo.balancers.base import GradientBalancer
from mtl_zoo.balancers.gradient_math import combine, gram_matrix
from mtl_zoo.errors import OptionError


class _LastWeights:
    """The gradient matrix of the latest `aggregate` call and the weights it used."""

    grads = None
    weights = None


class GradientWeighting(GradientBalancer):
    """Base class of gradient balancers whose direction is `gram_weights(G G^T) @ G`.

    Args:
        task_gradients: str. "auto", "vectorized" or "loop" (see
            `GradientBalancer`). Defaults to "auto".
        rep_grad: bool. Weigh the tasks by their gradients with respect to
            the shared representation instead of the shared variables
            (MGDA-UB); the model's network must mark a shared
            representation (`hard` sharing with `shared_depth >= 1`).
            Defaults to False.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, task_gradients: Literal["auto", "vectorized", "loop"] = "auto", rep_grad: bool = False,
                 **kwargs):
        super().__init__(task_gradients=task_gradients, **kwargs)
        if not isinstance(rep_grad, bool):
            raise OptionError("rep_grad", f"rep_grad must be true or false. Received: rep_grad={rep_grad!r}")
        self.rep_grad = rep_grad
        self._last = _LastWeights()

    def gram_weights(self, gram):
        """Returns the weight of each task's gradient, `[num_tasks]`, from their Gram matrix.

        Args:
            gram: float64 tensor `[num_tasks, num_tasks]`, the inner products
                of the task gradients (see `gradient_math.gram_matrix`).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement gram_weights().")

    def task_weights(self, grads):
        """Returns the weight of each task's gradient, `[num_tasks]`.

        Args:
            grads: float32 tensor `[num_tasks, dim]`.
        """
        return self.gram_weights(gram_matrix(grads))

    def representation_weights(self, gram):
        """Float32 weights `[num_tasks]` of the task losses from a Gram matrix; 0 for a task without a gradient.

        Args:
            gram: float64 tensor `[num_tasks, num_tasks]`, e.g. of the task
                gradients with respect to the shared representation, summed
                over replicas.
        """
        weights = tf.cast(self.gram_weights(gram), tf.float32)
        return tf.where(tf.linalg.diag_part(gram) > 0.0, weights, 0.0)

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

    def get_config(self) -> dict:
        return {**super().get_config(), "rep_grad": self.rep_grad}
