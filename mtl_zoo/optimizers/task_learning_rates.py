"""Per-task learning rates: each task's variables train at a multiple of the base learning rate.

`TaskLearningRates` wraps the model's optimizer. Every trainable variable is
owned by the tasks whose outputs depend on it (`MultiTaskModel.variable_tasks`):
a task's private variables are updated with the base learning rate times
that task's multiplier, shared variables with the mean multiplier of the
tasks sharing them (or the base rate, `shared="one"`), anything else
(e.g. a balancer's learned weights) with the base rate. It is a Keras
`MultiOptimizer` holding one copy of the optimizer per group of variables,
each with its own learning rate, so any optimizer (SGD, Adam, ...) moves a
variable exactly as it would with the scaled learning rate, and it works
under `tf.distribute` and `.keras` saving like any optimizer.

With `adaptive=True` the multipliers also follow each task's loss trend:
after every epoch (`AdaptTaskLearningRates` callback), a task whose training
loss fell less than the others' gets a larger rate (see
`TaskLearningRates.on_epoch_end`).

Multipliers act on whole variables, not on a task's share of a shared
variable's gradient: that share is only separable in the train step (a
gradient balancer with per-task rows), which is not this piece's business.

Example:

>>> import keras
>>> from mtl_zoo.optimizers.task_learning_rates import TaskLearningRates
>>> optimizer = TaskLearningRates(
...     keras.optimizers.SGD(0.1), {"left": 2.0},
...     variable_tasks={"trunk/kernel": {"left", "right"}, "left/kernel": {"left"}, "right/kernel": {"right"}})
>>> optimizer.group_learning_rates()
{'left': 0.2, 'left+right': 0.15}
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np

from mtl_zoo.errors import OptionError

SHARED_RULES = ("mean", "one")
ADAPTIVE_BOUNDS = (0.1, 10.0)  # an adaptive multiplier stays within these factors of its fixed value


def _group_name(tasks) -> str:
    return "+".join(sorted(tasks))


def _checked_multipliers(multipliers: dict, task_names) -> dict:
    """Task name -> multiplier for every task, checked."""
    unknown = sorted(set(multipliers) - set(task_names))
    if unknown:
        raise OptionError(
            "multipliers",
            f"Learning-rate multipliers name unknown tasks {unknown}; tasks are {task_names}. "
            f"Received: multipliers={multipliers}",
        )
    bad = sorted(name for name, value in multipliers.items()
                 if not isinstance(value, numbers.Real) or isinstance(value, bool)
                 or not math.isfinite(value) or value < 0)
    if bad:
        raise OptionError(
            "multipliers",
            f"Learning-rate multipliers must be finite and >= 0; {bad} are not. Received: multipliers={multipliers}",
        )
    return {task: float(multipliers.get(task, 1.0)) for task in task_names}


def _group_multiplier(tasks, multipliers: dict, shared: str) -> float:
    """The multiplier of variables used by `tasks`."""
    if len(tasks) > 1 and shared == "one":
        return 1.0
    return float(np.mean([multipliers[task] for task in tasks]))


def _base_rate(optimizer) -> float:
    rate = optimizer._learning_rate  # a variable for float rates, else a schedule or callable
    if not isinstance(rate, keras.Variable):
        raise OptionError(
            "optimizer",
            "Per-task learning rates need the optimizer's learning rate to be a float, not a "
            f"schedule. Received: learning_rate={rate!r}",
        )
    return float(keras.ops.convert_to_numpy(rate))


@keras.saving.register_keras_serializable(package="mtl_zoo")
class TaskLearningRates(keras.optimizers.MultiOptimizer):
    """An optimizer that gives each task's variables their own learning-rate multiplier.

    Args:
        optimizer: `keras.optimizers.Optimizer`, name or config. The base
            optimizer, with a float learning rate.
        multipliers: dict or None. Task name -> multiplier >= 0 of the base
            learning rate for the task's private variables; unnamed tasks
            get 1. Defaults to None (all 1).
        variable_tasks: dict. Variable path -> the tasks that use it, as
            `MultiTaskModel.variable_tasks` gives.
        adaptive: bool. Adapt the multipliers each epoch from the tasks'
            loss trend (needs the `AdaptTaskLearningRates` callback).
            Defaults to False.
        shared: str. Learning rate of variables shared by several tasks:
            "mean" (base rate times the mean of their tasks' multipliers) or
            "one" (base rate). Defaults to "mean".
        name: str or None. Name of the optimizer. Defaults to None.
    """

    def __init__(self, optimizer, multipliers=None, variable_tasks=None, adaptive: bool = False,
                 shared: str = "mean", name=None):
        base = keras.optimizers.get(optimizer)
        variable_tasks = {path: tuple(sorted(tasks)) for path, tasks in (variable_tasks or {}).items()}
        task_names = sorted({task for tasks in variable_tasks.values() for task in tasks})
        fixed = _checked_multipliers(dict(multipliers or {}), task_names)
        if shared not in SHARED_RULES:
            raise OptionError("shared", f"shared must be one of {SHARED_RULES}. Received: shared={shared!r}")
        if not isinstance(adaptive, bool):
            raise OptionError("adaptive", f"adaptive must be true or false. Received: adaptive={adaptive!r}")
        groups = {  # group name -> tasks, for every group of variables that needs its own learning rate
            _group_name(tasks): tasks
            for tasks in sorted(set(variable_tasks.values()))
            if tasks and not (len(tasks) > 1 and shared == "one")
            and (adaptive or _group_multiplier(tasks, fixed, shared) != 1.0)
        }
        base_rate = _base_rate(base) if groups else None
        copies = {
            group: type(base).from_config({
                **base.get_config(),
                "learning_rate": base_rate * _group_multiplier(tasks, fixed, shared),
                "name": f"{base.name}_{group.replace('+', '_')}",
            })
            for group, tasks in groups.items()
        }
        super().__init__(self._optimizer_for, name=name)
        self.variable_tasks, self.task_names, self.fixed_multipliers = variable_tasks, task_names, fixed
        self.adaptive, self.shared, self.groups = adaptive, shared, groups
        self._base_optimizer, self._copies = base, copies
        self._inner_optimizers = [base, *copies.values()]
        with keras.name_scope(self.name, caller=self):
            self._task_multipliers = keras.Variable(
                [self.fixed_multipliers[task] for task in self.task_names] or np.zeros(0), dtype="float32",
                trainable=False, name="task_multipliers", aggregation="only_first_replica")
            self._previous_losses = keras.Variable(
                np.zeros(len(self.task_names)), dtype="float32", trainable=False, name="previous_task_losses",
                aggregation="only_first_replica")
        self._track_variable(self._task_multipliers)
        self._track_variable(self._previous_losses)

    # === Optimizer ===

    def _optimizer_for(self, variable):
        tasks = self.variable_tasks.get(variable.path, ())
        return self._copies.get(_group_name(tasks), self._base_optimizer) if tasks else self._base_optimizer

    @property
    def learning_rate(self):
        """The base learning rate (the rate of multiplier 1)."""
        return self._base_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._base_optimizer.learning_rate = value
        self._set_group_rates()

    def multipliers(self) -> dict:
        """The current multiplier of each task."""
        return dict(zip(self.task_names, (float(m) for m in self._task_multipliers.numpy())))

    def group_learning_rates(self) -> dict:
        """Group of tasks (`"a+b"` for shared variables) -> its current learning rate, for groups not at the base rate."""
        return {group: round(float(keras.ops.convert_to_numpy(copy.learning_rate)), 7)
                for group, copy in self._copies.items()}

    def _set_group_rates(self):
        if not self._copies:
            return
        base_rate, multipliers = _base_rate(self._base_optimizer), self.multipliers()
        for group, copy in self._copies.items():
            copy.learning_rate = base_rate * _group_multiplier(self.groups[group], multipliers, self.shared)

    def apply(self, grads, trainable_variables=None):
        """Applies each gradient with the optimizer of its variable's group (any subset of variables)."""
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        if not self.built:
            self.build(trainable_variables)
        grouped = [([], []) for _ in self._inner_optimizers]
        for grad, variable in zip(grads, trainable_variables):
            index = self._var_to_optimizer_idx[self._var_key(variable)]
            grouped[index][0].append(grad)
            grouped[index][1].append(variable)
        for optimizer, (group_grads, variables) in zip(self._inner_optimizers, grouped):
            if variables:
                optimizer.apply(group_grads, variables)
        self._iterations.assign_add(1)

    # === Adaptive multipliers ===

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        """Adapts the multipliers to the epoch's task losses (only with `adaptive=True`).

        With `r_t = L_t(e) / L_t(e - 1)` task t's loss ratio over the last
        two epochs (from the logs' `{task}_loss`), the multiplier becomes
        `fixed_t * r_t / mean(r)`, kept within 0.1x and 10x of `fixed_t`:
        a task whose loss fell less than the others' learns faster.

        Args:
            epoch: int. Index of the epoch that ended.
            logs: dict. The epoch's logs.
        """
        if not self.adaptive:
            return
        logs = logs or {}
        missing = [f"{task}_loss" for task in self.task_names if f"{task}_loss" not in logs]
        if missing:
            raise ValueError(
                f"Adaptive task learning rates need each task's epoch loss; {missing} are missing "
                f"from the logs. Received: logs keys {sorted(logs)}"
            )
        losses = np.array([float(logs[f"{task}_loss"]) for task in self.task_names])
        previous = self._previous_losses.numpy()
        self._previous_losses.assign(losses)
        if not (previous > 0).all():
            return
        ratios = losses / previous
        fixed = np.array([self.fixed_multipliers[task] for task in self.task_names])
        factors = np.clip(ratios / ratios.mean(), *ADAPTIVE_BOUNDS)
        self._task_multipliers.assign(fixed * factors)
        self._set_group_rates()

    # === Config ===

    def with_variable_tasks(self, variable_tasks: dict) -> "TaskLearningRates":
        """A new, unbuilt optimizer with the same options for another variable -> tasks map.

        Args:
            variable_tasks: dict. Variable path -> the tasks that use it.
        """
        return type(self).from_config({**self.get_config(),
                                       "variable_tasks": {path: sorted(tasks) for path, tasks in variable_tasks.items()}})

    def get_config(self) -> dict:
        return {
            "optimizer": keras.saving.serialize_keras_object(self._base_optimizer),
            "multipliers": {task: m for task, m in self.fixed_multipliers.items() if m != 1.0} or None,
            "variable_tasks": {path: list(tasks) for path, tasks in self.variable_tasks.items()},
            "adaptive": self.adaptive,
            "shared": self.shared,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer"] = keras.saving.deserialize_keras_object(config["optimizer"], custom_objects=custom_objects)
        return cls(**config)


class AdaptTaskLearningRates(keras.callbacks.Callback):
    """Calls `TaskLearningRates.on_epoch_end` after each epoch and logs `{task}_learning_rate_multiplier`."""

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if isinstance(optimizer, TaskLearningRates):
            optimizer.on_epoch_end(epoch, logs)
            if logs is not None:
                for task, multiplier in optimizer.multipliers().items():
                    logs[f"{task}_learning_rate_multiplier"] = multiplier
