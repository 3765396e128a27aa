"""Inter-task affinity measured during training: lookahead loss change (TAG) and gradient cosine similarity.

Task affinity grouping (Fifty et al., NeurIPS 2021, "Efficiently Identifying
Task Groupings in Multi-Task Learning": https://arxiv.org/abs/2109.04617)
asks how a step on task i's gradient of the shared parameters changes task
j's loss. On a batch with shared parameters `θ_s`:

    affinity(i -> j) = 1 - L_j(θ_s - lr * g_i, θ_j) / L_j(θ_s, θ_j)

where `g_i` is task i's gradient of its loss (times its loss weight) with
respect to `θ_s`; positive means the step on task i also lowers task j's
loss. `AffinityMonitor` (a Keras callback) measures the matrix every
`every_n_steps` training steps on the batches it holds, together with the
cosine similarity of the tasks' gradients (the per-task gradient machinery
of `mtl_zoo.balancers.task_gradients` and `mtl_zoo.training.monitoring.cosine_matrix`), and
keeps their means over the run.

The lookahead is a plain gradient step of size `lr` (the recipe's learning
rate, as in the paper's SGD form) taken on a copy of the shared variables;
they are restored exactly after each lookahead.

Example:

>>> monitor = AffinityMonitor(every_n_steps=10, batches=[batch], learning_rate=0.01)  # doctest: +SKIP
>>> model.fit(train, epochs=1, callbacks=[monitor])  # doctest: +SKIP
>>> monitor.mean_affinity()  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mtl_zoo.training.monitoring import cosine_matrix
from mtl_zoo.balancers.task_gradients import split_direction, task_gradient_matrix


def make_affinity_measure(model, learning_rate: float):
    """A `tf.function` `(features, labels, sample_weight) -> (affinity [K, K], cosine [K, K])` for `model`.

    Args:
        model: `MultiTaskModel` with shared variables.
        learning_rate: float. Size of the lookahead step.
    """
    shared = model.shared_variables
    if not shared:
        raise ValueError(f"Task affinity needs variables shared by two or more tasks; model '{model.name}' "
                         "shares none (use a scheme that shares blocks, e.g. hard with shared_depth >= 1). "
                         f"Received: tasks {model.task_names}")
    loss_weights = tf.constant([task.loss_weight for task in model.tasks], tf.float32)
    names = model.task_names

    def task_losses(features, labels, sample_weight):
        predictions = model(features, training=False)
        losses, _ = model.compute_task_losses(labels, predictions, sample_weight)
        return tf.stack([losses[name] for name in names])

    @tf.function
    def measure(features, labels, sample_weight):
        with tf.GradientTape(persistent=True) as tape:
            before = task_losses(features, labels, sample_weight)
            weighted = loss_weights * before
        gradients = task_gradient_matrix(tape, weighted, shared, method="loop")
        del tape
        saved = [tf.identity(variable) for variable in shared]
        rows = []
        for index in range(len(names)):
            for variable, piece in zip(shared, split_direction(gradients[index], shared)):
                variable.assign_sub(learning_rate * piece)
            after = task_losses(features, labels, sample_weight)
            for variable, value in zip(shared, saved):
                variable.assign(value)
            rows.append(1.0 - tf.math.divide_no_nan(after, before))
        return tf.stack(rows), cosine_matrix(gradients)[0]

    return measure


class AffinityMonitor(keras.callbacks.Callback):
    """Measures lookahead affinity and gradient cosine every `every_n_steps` steps; keeps every measurement.

    Args:
        every_n_steps: int. Measure at the first batch end at or after each
            multiple of this many optimizer steps (and once before training).
        batches: list of `(features, labels)` or `(features, labels, weights)` batches measured on
            (their results are averaged).
        learning_rate: float. Size of the lookahead step.
    """

    def __init__(self, every_n_steps: int, batches, learning_rate: float):
        super().__init__()
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be at least 1. Received: every_n_steps={every_n_steps}")
        self.every_n_steps = every_n_steps
        self.batches = [tuple(batch) + (None,) * (3 - len(batch)) for batch in batches]
        self.learning_rate = learning_rate
        self.affinities, self.cosines = [], []
        self._measure = None
        self._next_step = 0

    def measure(self) -> tuple:
        """Measures now on the held batches; returns `(affinity, cosine)` as numpy arrays (their means)."""
        if self._measure is None:
            self._measure = make_affinity_measure(self.model, self.learning_rate)
        results = [self._measure(*batch) for batch in self.batches]
        affinity = np.mean([result[0].numpy() for result in results], axis=0)
        cosine = np.mean([result[1].numpy() for result in results], axis=0)
        self.affinities.append(affinity)
        self.cosines.append(cosine)
        return affinity, cosine

    def on_train_begin(self, logs=None):
        self.measure()
        self._next_step = self.every_n_steps

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step >= self._next_step:
            self.measure()
            self._next_step = (step // self.every_n_steps + 1) * self.every_n_steps

    def mean_affinity(self) -> np.ndarray:
        """`[K, K]` mean lookahead affinity over the measurements (row i stepped on, column j affected)."""
        return np.mean(self.affinities, axis=0)

    def mean_cosine(self) -> np.ndarray:
        """`[K, K]` mean gradient cosine similarity over the measurements."""
        return np.mean(self.cosines, axis=0)
