"""Random loss weighting: fresh random weights at every training step.

Lin, Ye, Xu, Shi & Zhang, "Reasonable Effectiveness of Random Weighting: A
Litmus Test for Multi-Task Learning", TMLR 2022,
https://arxiv.org/abs/2111.10603.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.balancers.rlw import RandomLossWeighting
>>> balancer = RandomLossWeighting(seed=1)
>>> balancer.build_for_tasks([Task("a", "regression"), Task("b", "regression")])
>>> weights = balancer.draw_weights(step=0)
>>> round(float(weights.numpy().sum()), 6)
1.0
"""

from __future__ import annotations

import math
import numbers

import keras
import tensorflow as tf
from keras import ops

from mtl_zoo.balancers.base import Balancer
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import BALANCERS


@BALANCERS.register("rlw")
@keras.saving.register_keras_serializable(package="mtl_zoo")
class RandomLossWeighting(Balancer):
    """Weights `softmax(z)` with `z ~ N(0, I)` drawn anew at every training step.

    The objective is `sum_t w_t * loss_weight_t * L_t` with weights summing
    to 1. The draw of step `n` is a stateless function of `(seed, n)`, with
    `n` a step counter saved with the model: runs with one seed draw the
    same weights, every replica draws the same ones, and a reloaded model
    continues the sequence. Evaluation (`training=False`) uses the expected
    weights, `1 / K` each, and does not advance the counter.

    Args:
        seed: int. Seed of the weight sequence. Defaults to 0.
        **kwargs: Keras layer arguments.
    """

    def __init__(self, seed: int = 0, **kwargs):
        kwargs.setdefault("name", "rlw")  # one variable path for every instance
        super().__init__(**kwargs)
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise OptionError("seed", f"RLW needs an integer seed. Received: seed={seed!r}")
        self.seed = int(seed)

    def build_for_tasks(self, tasks) -> None:
        if getattr(self, "step", None) is None:
            self.step = self.add_weight(
                shape=(), initializer="zeros", dtype="int64", trainable=False,
                aggregation="only_first_replica", name="step",
            )
        super().build_for_tasks(tasks)

    def draw_weights(self, step):
        """The weights of training step `step`: softmax of a standard normal draw, `[num_tasks]`.

        The normal draws come from Philox random bits (the same on every
        device, with or without XLA; TensorFlow's float samplers are not)
        through the Box-Muller transform.
        """
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        bits = tf.random.stateless_uniform(
            (2, len(self.tasks)), seed=seed, minval=None, maxval=None, dtype=tf.uint32, alg="philox")
        uniform = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) / 2.0**24  # in (0, 1)
        normal = tf.sqrt(-2.0 * tf.math.log(uniform[0])) * tf.cos(2.0 * math.pi * uniform[1])
        return tf.nn.softmax(normal)

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        losses = ops.stack([task.loss_weight * ops.cast(task_losses[task.name], "float32") for task in self.tasks])
        if training:
            weights = self.draw_weights(ops.convert_to_tensor(self.step))
            self.step.assign_add(1)
        else:
            weights = ops.full((len(self.tasks),), 1.0 / len(self.tasks))
        return ops.sum(weights * losses)

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}
