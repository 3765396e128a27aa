"""`Balancer`: how the tasks' losses become one training objective.

`MultiTaskModel.train_step` computes one loss per task (the mean over the
observed labels of the global batch) and hands them to its balancer. A
loss-weighting balancer returns a scalar objective from the dict of task
losses, the observed-label counts and whether the step trains (`combine`);
it may own variables (learned weights) and state (loss history), which are
tracked, trained and saved with the model; `test_step` calls it with
`training=False`, which must not advance its state. The weight each task
gets is read off the objective (`mtl_zoo.models.objective.balanced_objective`), so a
balancer never reports weights separately. A balancer never needs to know
the architecture.

A *gradient* balancer (`GradientBalancer`) instead combines the tasks'
gradients of the shared variables: `aggregate(grads)` takes the
`[num_tasks, dim]` matrix (summed over replicas, so every replica sees the
global per-task gradients) and returns one `[dim]` update direction; the
shared variables (read off the network, `MultiTaskModel.variable_tasks`) get
that direction and every task-private variable its own task's gradient.
`combine` still gives the logged objective.

Both kinds may keep state between steps and epochs: `on_epoch_end(epoch,
logs)` runs after every epoch of `MultiTaskModel.fit` (eagerly, outside the
compiled step).

Subclasses implement `combine`, may create variables in `build_for_tasks`, and
return their constructor arguments from `get_config`.

Example:

>>> from mtl_zoo.balancers.base import Balancer
>>> class SumOfLosses(Balancer):
...     def combine(self, task_losses, counts=None, training=False):
...         return sum(task_losses.values())
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.errors import OptionError

TASK_GRADIENT_CHOICES = ("auto", "vectorized", "loop")


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

    uses_task_gradients = False
    # True on gradient balancers that weigh the tasks by their gradients with respect to the
    # shared representation (see `GradientWeighting`): the model calls `representation_weights`.
    rep_grad = False

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        """Runs after each training epoch (eagerly); override to update per-epoch state.

        Args:
            epoch: int. Index of the epoch that ended.
            logs: dict. The epoch's logs (task losses and metrics).
        """

    def call(self, task_losses, counts=None, training=False):
        return self.combine(task_losses, counts=counts, training=training)


class GradientBalancer(Balancer):
    """Base class of balancers that combine per-task gradients of the shared variables.

    Subclasses implement `aggregate`, a function of the gradient matrix only
    (so it can be checked on fixed matrices). The logged objective is the
    weighted sum of the task losses with each task's `loss_weight`.

    Args:
        task_gradients: str. How per-task gradients are computed:
            "vectorized" (one Jacobian pass), "loop" (one backward pass per
            task, each through its own task's layers only) or "auto" (the
            faster of the two as measured by `benchmarks/balancer_cost.py`:
            "loop", ahead or level on most methods at 2 and 10 tasks, and
            well ahead for gradients with respect to the shared
            representation). Defaults to "auto".
        **kwargs: Keras layer arguments.
    """

    uses_task_gradients = True

    def __init__(self, task_gradients: str = "auto", **kwargs):
        super().__init__(**kwargs)
        if task_gradients not in TASK_GRADIENT_CHOICES:
            raise OptionError(
                "task_gradients",
                f"task_gradients must be one of {', '.join(TASK_GRADIENT_CHOICES)}. "
                f"Received: task_gradients={task_gradients!r}",
            )
        self.task_gradients = task_gradients

    @property
    def task_gradient_method(self) -> str:
        """"vectorized" or "loop": how the model takes this balancer's per-task gradients."""
        return "loop" if self.task_gradients == "auto" else self.task_gradients

    def aggregate(self, grads):
        """Returns the update direction `[dim]` from per-task gradients `[num_tasks, dim]`.

        Args:
            grads: float32 tensor `[num_tasks, dim]`; row t is task t's
                gradient of its loss with respect to the shared variables.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement aggregate().")

    def implied_weights(self, grads, direction):
        """Per-task weights `a` with `direction ~= sum_t a_t grads[t]` (least squares), for the logs.

        Methods that compute explicit weights may override this.

        Args:
            grads: float32 tensor `[num_tasks, dim]`.
            direction: float32 tensor `[dim]`, returned by `aggregate`.
        """
        gram = tf.matmul(grads, grads, transpose_b=True)
        target = tf.linalg.matvec(grads, direction)
        return tf.linalg.matvec(tf.linalg.pinv(gram), target)

    def combine(self, task_losses: dict, counts=None, training: bool = False):
        return sum(task.loss_weight * task_losses[task.name] for task in self.tasks)

    def get_config(self) -> dict:
        return {**super().get_config(), "task_gradients": self.task_gradients}
