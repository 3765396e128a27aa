"""Gradient-conflict monitor: how the tasks' gradients on the shared variables agree during training.

`GradientConflictMonitor` is a Keras callback. Every `every_n_steps`
training steps it takes each task's gradient (of `loss_weight * loss`) with
respect to the shared variables (those `MultiTaskModel.variable_tasks` lists
with two or more tasks) on one held batch, and records the cosine
similarity of every pair of tasks and each task's gradient norm. A negative
cosine is a conflict: a step for one task undoes progress on the other.

At the end of each epoch it adds the epoch's mean values to the logs, so
they land in the history as `cosine_{a}_{b}` (a before b in model order)
and `grad_norm_{task}`, and in any later callback's logs (list it before a
`keras.callbacks.TensorBoard` to get them there per epoch). With `log_dir`
it also writes every measurement as a TensorBoard scalar at its step. When
training ends it writes `gradient_conflicts.png` (heatmap of the mean
cosine matrix, and the mean norms) and `gradient_conflicts.json` (every
measurement) to `output_dir` (or, without one, when `write(folder)` is
called).

Steps are the optimizer's updates since training began; with
`compile(steps_per_execution=S)` callbacks run after every S steps only, and
a measurement is taken at the first batch end at or after each multiple of
`every_n_steps`.

The held batch runs in inference mode (`training=False`): dropout is off
and batch-normalization statistics are not updated by the monitor.

Example:

>>> monitor = GradientConflictMonitor(every_n_steps=50, output_dir="run", batch=(features, labels))  # doctest: +SKIP
>>> model.fit(train, epochs=5, callbacks=[monitor])  # doctest: +SKIP
>>> history.history["cosine_left_digit_right_digit"]  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from mtl_zoo.balancers.task_gradients import task_gradient_matrix

HEATMAP_FILE = "gradient_conflicts.png"
MEASUREMENTS_FILE = "gradient_conflicts.json"


def cosine_matrix(grads):
    """Pairwise cosine similarities `[K, K]` and norms `[K]` of the rows of `grads` `[K, dim]`.

    A zero row (a task without labels in the batch) has cosine 0 with every task.

    Args:
        grads: float32 tensor `[num_tasks, dim]`.
    """
    norms = tf.norm(grads, axis=1)
    products = tf.matmul(grads, grads, transpose_b=True)
    scale = norms[:, None] * norms[None, :]
    return tf.where(scale > 0, products / tf.where(scale > 0, scale, 1.0), 0.0), norms


class GradientConflictMonitor(keras.callbacks.Callback):
    """Logs the per-task gradient cosine matrix and norms of the shared variables every N steps.

    Args:
        every_n_steps: int >= 1. Training steps between two measurements.
        output_dir: str, Path or None. Folder for the heatmap PNG and the
            JSON of measurements, written when training ends; None writes
            nothing until `write(folder)` is called.
        batch: tuple `(features, labels)` (optionally `sample_weight`) or a
            `tf.data.Dataset` (its first element is used). The held batch.
        log_dir: str, Path or None. TensorBoard folder for per-step scalars
            (`gradient_conflicts/cosine_{a}_{b}`, `.../grad_norm_{task}`).
            Defaults to None.
    """

    def __init__(self, every_n_steps: int, output_dir, batch, log_dir=None):
        super().__init__()
        if not isinstance(every_n_steps, int) or isinstance(every_n_steps, bool) or every_n_steps < 1:
            raise ValueError(f"every_n_steps must be an integer >= 1. Received: every_n_steps={every_n_steps!r}")
        self.every_n_steps = every_n_steps
        self.output_dir = None if output_dir is None else Path(output_dir)
        if isinstance(batch, tf.data.Dataset):
            batch = next(iter(batch))
        self.batch = keras.utils.unpack_x_y_sample_weight(batch)
        self.log_dir = log_dir
        self.measurements = []  # (step, cosines [K, K], norms [K])
        self._measure = None
        self._writer = None
        self._step = 0
        self._epoch_start = 0
        self._first_iteration = 0

    @property
    def pairs(self) -> list:
        """`(a, b)` task name pairs in model order, a before b."""
        return list(itertools.combinations(self.model.task_names, 2))

    def _make_measure(self):
        model = self.model
        shared = model.shared_variables
        loss_weights = tf.constant([task.loss_weight for task in model.tasks], tf.float32)

        if not shared:  # nothing shared: nothing can conflict
            return lambda *batch: cosine_matrix(tf.zeros((len(model.tasks), 0)))

        @tf.function
        def measure(features, labels, sample_weight):
            with tf.GradientTape(persistent=True) as tape:
                predictions = model(features, training=False)
                losses, _ = model.compute_task_losses(labels, predictions, sample_weight)
                vector = loss_weights * tf.stack([losses[name] for name in model.task_names])
            matrix = task_gradient_matrix(tape, vector, shared, method="loop")
            del tape
            return cosine_matrix(matrix)

        return measure

    def measure(self):
        """Measures now on the held batch; returns `(cosines, norms)` as numpy arrays."""
        if self._measure is None:
            self._measure = self._make_measure()
        cosines, norms = self._measure(*self.batch)
        cosines, norms = cosines.numpy(), norms.numpy()
        self.measurements.append((self._step, cosines, norms))
        if self._writer is not None:
            with self._writer.as_default(step=self._step):
                for (a, b), value in self._pair_values(cosines).items():
                    tf.summary.scalar(f"gradient_conflicts/cosine_{a}_{b}", value)
                for name, norm in zip(self.model.task_names, norms):
                    tf.summary.scalar(f"gradient_conflicts/grad_norm_{name}", float(norm))
            self._writer.flush()
        return cosines, norms

    def _pair_values(self, cosines) -> dict:
        index = {name: i for i, name in enumerate(self.model.task_names)}
        return {(a, b): float(cosines[index[a], index[b]]) for a, b in self.pairs}

    # === Callback hooks ===

    def on_train_begin(self, logs=None):
        self.measurements, self._step, self._epoch_start, self._measure = [], 0, 0, None
        self._first_iteration = int(self.model.optimizer.iterations.numpy())
        if self.log_dir is not None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy()) - self._first_iteration
        crossed = step // self.every_n_steps > self._step // self.every_n_steps
        self._step = step
        if crossed:
            self.measure()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = len(self.measurements)

    def on_epoch_end(self, epoch, logs=None):
        if len(self.measurements) == self._epoch_start:
            self.measure()  # fewer steps than every_n_steps in this epoch: one measurement at its end
        if logs is None:
            return
        epoch_measurements = self.measurements[self._epoch_start:]
        cosines = np.mean([cosines for _, cosines, _ in epoch_measurements], axis=0)
        norms = np.mean([norms for _, _, norms in epoch_measurements], axis=0)
        for (a, b), value in self._pair_values(cosines).items():
            logs[f"cosine_{a}_{b}"] = value
        for name, norm in zip(self.model.task_names, norms):
            logs[f"grad_norm_{name}"] = float(norm)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.output_dir is not None:
            self.write(self.output_dir)

    def write(self, folder) -> None:
        """Writes the heatmap PNG and the JSON of every measurement to `folder` (nothing if none was taken).

        Args:
            folder: str or Path. Created if missing.
        """
        if not self.measurements:
            return
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = self.model.task_names
        plot_gradient_conflicts(
            np.mean([c for _, c, _ in self.measurements], axis=0),
            np.mean([n for _, _, n in self.measurements], axis=0),
            names, len(self.measurements), folder / HEATMAP_FILE,
        )
        records = [{"step": step, "cosines": cosines.round(6).tolist(), "norms": norms.round(6).tolist()}
                   for step, cosines, norms in self.measurements]
        (folder / MEASUREMENTS_FILE).write_text(json.dumps({"tasks": names, "measurements": records}, indent=1) + "\n")


def plot_gradient_conflicts(cosines, norms, task_names, num_measurements: int, path) -> Figure:
    """Draws the cosine heatmap (annotated, -1 red to +1 blue) and the gradient norms; writes a PNG.

    Args:
        cosines: `[K, K]` array of mean cosine similarities.
        norms: `[K]` array of mean gradient norms.
        task_names: list of str.
        num_measurements: int. How many measurements the means cover (for the title).
        path: str or Path. The PNG file.

    Returns:
        The matplotlib `Figure` (heatmap, colorbar, norms).
    """
    size = len(task_names)
    figure = Figure(figsize=(4.0 + 0.6 * size + 3.5, 1.5 + 0.6 * size), layout="constrained")
    heatmap_axes, norm_axes = figure.subplots(1, 2, width_ratios=[1.0 + 0.15 * size, 1.0])
    image = heatmap_axes.imshow(cosines, cmap="RdBu", vmin=-1.0, vmax=1.0)
    heatmap_axes.set_xticks(range(size), task_names, rotation=45, ha="right")
    heatmap_axes.set_yticks(range(size), task_names)
    for row, column in itertools.product(range(size), repeat=2):
        value = cosines[row, column]
        heatmap_axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize="small",
                          color="white" if abs(value) > 0.6 else "black")
    heatmap_axes.set_title(f"gradient cosine (mean of {num_measurements})")
    figure.colorbar(image, ax=heatmap_axes, shrink=0.8)
    norm_axes.barh(range(size), norms, color="C0")
    norm_axes.set_yticks(range(size), task_names)
    norm_axes.invert_yaxis()
    norm_axes.set_title("gradient norm (shared variables)")
    figure.savefig(path, dpi=100)
    return figure
