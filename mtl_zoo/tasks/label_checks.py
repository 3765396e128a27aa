"""Labels a task cannot have stop training, even when XLA drops assertions.

Assertion ops (`tf.debugging.assert_*`) vanish under `jit_compile=True`, so a
class index of 12 for a 3-class task would silently train to a NaN loss.
Instead, every step counts the invalid labels of each task (see
`TaskKind.split_labels`; those labels are already left out of the
loss) into an `InvalidLabelCounts` metric, and `raise_if_invalid` raises an
`InvalidLabelError` naming the task right after the call of the compiled
function (one step, or `steps_per_execution` steps) that saw one.
`MultiTaskModel` wires this around its train and test functions, so plain
`model.fit` / `model.evaluate` stop with the task named, with or without XLA
and under any `tf.distribute` strategy.

Example:

>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.tasks.label_checks import InvalidLabelCounts
>>> counts = InvalidLabelCounts([Task("digit", "classification", 3)])
>>> counts.update_state([2.0])
>>> counts.raise_if_invalid()
Traceback (most recent call last):
...
mtl_zoo.errors.InvalidLabelError: Task digit has a label that cannot belong to it: class indices must be below classes=3 (-1 marks a missing label)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from mtl_zoo.errors import InvalidLabelError
from mtl_zoo.tasks.labels import invalid_label_message


class InvalidLabelCounts(keras.metrics.Metric):
    """Counts each task's invalid labels since the last check.

    Not one of the model's reported metrics: it never appears in the logs.

    Args:
        tasks: list of `Task`. The model's tasks, in order.
        name: str. Metric name. Defaults to "invalid_label_counts".
    """

    def __init__(self, tasks, name="invalid_label_counts", **kwargs):
        super().__init__(name=name, **kwargs)
        self.tasks = list(tasks)
        self.counts = self.add_variable(
            shape=(len(self.tasks),), initializer="zeros", dtype="float32", aggregation="sum",
            name="counts",
        )

    def update_state(self, num_invalid):
        """Adds one step's invalid-label counts (a `[num_tasks]` vector)."""
        self.counts.assign_add(ops.cast(ops.convert_to_tensor(num_invalid), "float32"))

    def result(self):
        return self.counts

    def raise_if_invalid(self) -> None:
        """Raises `InvalidLabelError` for the first task with an invalid label (and resets)."""
        counts = np.asarray(ops.convert_to_numpy(self.result()))
        if not counts.any():
            return
        self.reset_state()
        task = self.tasks[int(np.flatnonzero(counts)[0])]
        raise InvalidLabelError(task.name, invalid_label_message(task))


def check_labels_after(function, counts: InvalidLabelCounts):
    """Wraps a Keras train/test function so it raises on invalid labels after each call.

    Args:
        function: callable. `model.train_function` or `model.test_function`.
        counts: `InvalidLabelCounts`. Updated by the wrapped steps.

    Returns:
        A callable with the same signature.
    """

    def checked(iterator):
        logs = function(iterator)
        counts.raise_if_invalid()
        return logs

    checked.checks_labels = True
    checked.__wrapped__ = function
    return checked
