"""`Balancer`: how the tasks' losses become one training objective.

`MultiTaskModel.train_step` computes one loss per task (the mean over the
observed labels of the global batch) and hands them to its balancer. A
loss-weighting balancer returns a scalar objective from the dict of task
losses, the observed-label counts and whether the step trains (`combine`);
it may own variables (learned weights) and state (loss history), which are
tracked, trained and saved with the model; `test_step` calls it with
`training=False`, which must not advance its state. The weight each task
gets is read off the objective (`mtl_zoo.objective.balanced_objective`), so a
balancer never reports weights separately. A balancer never needs to know
the architecture.

Subclasses implement `combine`, may create variables in `build_for_tasks`, and
return their constructor arguments from `get_config`.

Example:

>>> from mtl_zoo.balancing.base import Balancer
>>> class SumOfLosses(Balancer):
...     def combine(self, task_losses, counts=None, training=False):
...         return sum(task_losses.values())
"""

from __future__ import annotations

import keras


class Balancer(keras.layers.Layer):
    """Base class of balancers (a Keras layer, so its weights are saved).

    Args:
        **kwargs: Keras layer arguments such as `name`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tasks = ()

    def build_for_tasks(self, tasks) -> None:
        """Receives the model's tasks before training; creates any variables.

        Args:
            tasks: list of `Task`.
        """
        self.tasks = tuple(tasks)
        self.built = True

    @property
    def task_names(self) -> list:
        """Names of the tasks, in model order."""
        return [task.name for task in self.tasks]

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        """Returns the scalar training objective.

        Args:
            task_losses: dict task name -> scalar loss tensor (mean over the
                task's observed labels; 0 when it has none in the batch).
            counts: dict task name -> number of observed labels in the
                global batch, or None.
            training: bool. True on a training step; state (histories,
                counters) may only advance then.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement combine().")

    def call(self, task_losses, counts=None, training=False):
        return self.combine(task_losses, counts=counts, training=training)
