"""`MultiTaskModel`: a Keras model that trains several tasks at once.

It wraps a functional network whose output is a dict keyed by task name and
takes everything task-specific from its `Task` specs: each task's loss (mean
over observed labels, so missing labels are skipped), loss weight and
metrics. `train_step` computes one loss per task and asks the model's
balancer for the objective; `fit` logs the total `loss`, one `{task}_loss`
per task and every `{task}_{metric}`. Every other loss term joins the
objective too, logged by name: each `AuxiliaryLoss` layer's under the
layer's name, the rest (weight and activity regularizers, other layers'
`add_loss` terms) as `regularization_loss`.

Example:

>>> import numpy as np
>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.vision import vision_conv
>>> from mtl_zoo.models.builders import build_model
>>> inputs = {"image": InputSpec((12, 20, 1))}
>>> tasks = [Task("left_digit", "classification", 10), Task("right_digit", "classification", 10)]
>>> model = build_model(inputs, vision_conv(inputs, filters=[8], dense_units=[16]), tasks)
>>> model.compile(optimizer="adam")
>>> x = {"image": np.zeros((4, 12, 20, 1), "float32")}
>>> y = {"left_digit": np.array([1, 2, -1, 3]), "right_digit": np.array([0, 0, 1, 1])}
>>> history = model.fit(x, y, epochs=1, verbose=0)
>>> sorted(history.history)[:3]
['left_digit_accuracy', 'left_digit_loss', 'left_digit_weight']
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss, auxiliary_loss_layers
from mtl_zoo.layers.target_scale import TargetMoments, target_scale_name
from mtl_zoo.balancers.base import Balancer
from mtl_zoo.balancers.fixed import FixedWeights
from mtl_zoo.optimizers.task_learning_rates import TaskLearningRates
from mtl_zoo.tasks.label_checks import InvalidLabelCounts, check_labels_after
from mtl_zoo.models.objective import ObjectiveMean, balanced_objective
from mtl_zoo.models.reduction import global_masked_shares, global_sum
from mtl_zoo.registry import BALANCERS
from mtl_zoo.models.sharing_map import format_sharing_table, variable_task_map
from mtl_zoo.models.update_rules import update_rule_for
from mtl_zoo.tasks.losses import masked_task_loss_terms
from mtl_zoo.tasks.metrics import make_task_metrics, update_task_metrics
from mtl_zoo.tasks.task import Task, check_unique_names


@dataclasses.dataclass
class StepLosses:
    """The task losses of one step (see `mtl_zoo.models.reduction`).

    Args:
        shares: `[num_tasks]` this replica's shares of the global means.
        means: `[num_tasks]` per-task means over the global batch.
        counts: `[num_tasks]` observed labels in the global batch.
        local_counts: `[num_tasks]` observed labels on this replica.
        num_invalid: `[num_tasks]` labels the tasks cannot have.
        local_totals: list of scalars, one per task: this replica's sum of
            the task's loss terms, each computed from its own task's
            outputs only (a backward pass from one of them skips the other
            tasks' layers).
    """

    shares: object
    means: object
    counts: object
    local_counts: object
    num_invalid: object
    local_totals: list = dataclasses.field(default_factory=list)

    def separate_shares(self, loss_weights) -> list:
        """`loss_weights * shares` as one scalar per task, each depending on its own task's outputs only."""
        return [total * (loss_weights[index] / ops.maximum(self.counts[index], 1.0))
                for index, total in enumerate(self.local_totals)]


@dataclasses.dataclass
class Step:
    """Everything one training or evaluation step computed, for the update and the logs.

    `weights` are the task losses' weights in the objective; `task_weights`,
    when set (gradient balancers), the weights the update actually gave the
    tasks, logged as `{task}_weight`.
    """

    labels: dict
    predictions: dict
    sample_weight: object
    losses: StepLosses
    objective: object
    weights: object
    extra_loss: object
    auxiliary: list
    task_weights: object = None
    regularization_loss: object = 0.0


class BalancerHooks(keras.callbacks.Callback):
    """Calls the balancer's `on_epoch_end` after every epoch of `fit`.

    Args:
        balancer: `Balancer`.
    """

    def __init__(self, balancer):
        super().__init__()
        self.balancer = balancer

    def on_epoch_end(self, epoch, logs=None):
        self.balancer.on_epoch_end(epoch, logs or {})


REGULARIZATION_LOSS = "regularization_loss"
# Packages whose layers add no loss terms besides activity regularizers (and `AuxiliaryLoss` layers).
_KNOWN_LAYER_PACKAGES = ("keras", "keras_hub", "mtl_zoo")


def may_add_loss_terms(network) -> bool:
    """Whether the network's loss has terms besides the tasks' and `AuxiliaryLoss` layers'.

    True with a weight regularizer, an activity regularizer, or a layer from
    another package that is not an `AuxiliaryLoss` (a plugin may `add_loss`): the model then logs those
    terms as `regularization_loss`.
    """
    for layer in network._flatten_layers(include_self=True):
        if getattr(layer, "activity_regularizer", None) is not None:
            return True
        if isinstance(layer, AuxiliaryLoss):  # its term is logged under its own name
            continue
        if type(layer).__module__.split(".")[0] not in _KNOWN_LAYER_PACKAGES:
            return True
    return any(getattr(variable, "regularizer", None) is not None for variable in network.trainable_weights)


def check_target_scales(network, tasks) -> None:
    """Raises unless the network ends exactly the heads of the tasks with `standardize_target` in a `TargetScale`."""
    layer_names = {layer.name for layer in network.layers}
    for task in tasks:
        if task.standardize_target != (target_scale_name(task.name) in layer_names):
            has = "has no" if task.standardize_target else "has a"
            raise ValueError(
                f"Task '{task.name}' has standardize_target={task.standardize_target} but the network {has} "
                f"layer '{target_scale_name(task.name)}' ending its head; build the heads with "
                f"mtl_zoo.tasks.task.build_head (or scale_target) from the same tasks. "
                f"Received: standardize_target={task.standardize_target}"
            )


def resolve_balancer(balancer) -> Balancer:
    """Returns a `Balancer` from an instance, a registry name, a config dict or None."""
    if balancer is None:
        return FixedWeights()
    if isinstance(balancer, Balancer):
        return balancer
    if isinstance(balancer, str):
        return BALANCERS.get(balancer)()
    if isinstance(balancer, dict):
        return keras.saving.deserialize_keras_object(balancer)
    raise ValueError(
        "balancer must be a Balancer, a registered name or None. "
        f"Received: balancer={balancer!r}"
    )


@keras.saving.register_keras_serializable(package="mtl_zoo")
class MultiTaskModel(keras.Model):
    """A multi-output model trained with per-task losses and a balancer.

    Args:
        network: `keras.Model`. Functional network whose output is a dict
            task name -> tensor (see `mtl_zoo.models.builders.build_network`).
        tasks: list of `Task` (or their configs). One per network output.
        balancer: `Balancer`, str or None. Turns the task losses into the
            training objective. Defaults to fixed weights (each task's
            `loss_weight`).
        **kwargs: Keras model arguments such as `name`.
    """

    def __init__(self, network, tasks, balancer=None, **kwargs):
        super().__init__(**kwargs)
        # === Tasks ===
        self.tasks = [task if isinstance(task, Task) else Task.from_config(task) for task in tasks]
        check_unique_names(self.tasks)
        outputs = network.output if isinstance(network.output, dict) else {}
        if not outputs or not set(self.task_names) <= set(outputs):
            raise ValueError(
                "The network's outputs must be a dict keyed by the task names "
                f"{sorted(self.task_names)} (plus any outputs without a loss). "
                f"Received: outputs={sorted(outputs) or network.output}"
            )
        self.extra_output_names = [name for name in outputs if name not in self.task_names]
        check_target_scales(network, self.tasks)
        self._variable_tasks = None
        # === Layers ===
        self.network = network
        self.balancer = resolve_balancer(balancer)
        self.balancer.build_for_tasks(self.tasks)
        # How a training step turns the task losses into an update (a plain object: Keras does not
        # track the encoder and decoder a `rep_grad` rule holds, so the network's layers are saved once).
        self._update_rule = update_rule_for(self.balancer, network)
        # === Metrics ===
        self.total_loss_tracker = ObjectiveMean(len(self.tasks), name="loss")
        self.task_loss_trackers = [keras.metrics.Mean(name=f"{name}_loss") for name in self.task_names]
        self.task_metrics = [make_task_metrics(task) for task in self.tasks]
        self.invalid_label_counts = InvalidLabelCounts(self.tasks)
        self.auxiliary_losses = auxiliary_loss_layers(network)
        self.auxiliary_loss_trackers = [keras.metrics.Mean(name=layer.name) for layer in self.auxiliary_losses]
        self.regularization_loss_tracker = (
            keras.metrics.Mean(name=REGULARIZATION_LOSS) if may_add_loss_terms(network) else None)
        self.task_weight_trackers = [keras.metrics.Mean(name=f"{name}_weight") for name in self.task_names]
        self.built = True

    @property
    def task_names(self) -> list:
        """Names of the tasks, in model order."""
        return [task.name for task in self.tasks]

    @property
    def output_keys(self) -> list:
        """Every output's name: the tasks, then outputs without a loss (e.g. gate weights)."""
        return self.task_names + self.extra_output_names

    @property
    def variable_tasks(self) -> dict:
        """Trainable variable path -> the set of tasks whose outputs depend on it.

        Read off the network (see `mtl_zoo.models.sharing_map`); a variable used by
        more than one task is shared.
        """
        if getattr(self, "_variable_tasks", None) is None:
            self._variable_tasks = variable_task_map(self.network, self.task_names)
        return self._variable_tasks

    @property
    def shared_variables(self) -> list:
        """Trainable variables that two or more tasks use (see `variable_tasks`), in model order."""
        return [v for v in self.trainable_variables if len(self.variable_tasks.get(v.path, ())) > 1]

    @property
    def private_variables(self) -> list:
        """Trainable variables that one task or none uses: every trainable variable not in `shared_variables`."""
        return [v for v in self.trainable_variables if len(self.variable_tasks.get(v.path, ())) <= 1]

    def sharing_summary(self) -> str:
        """A table of parameters shared by several tasks and private to each task."""
        return format_sharing_table(self.network, self.variable_tasks, self.task_names)

    @property
    def metrics(self) -> list:
        return (
            [self.total_loss_tracker]
            + list(self.task_loss_trackers)
            + list(self.auxiliary_loss_trackers)
            + ([self.regularization_loss_tracker] if getattr(self, "regularization_loss_tracker", None) else [])
            + list(self.task_weight_trackers)
            + [metric for metrics in self.task_metrics for metric in metrics]
        )

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None, **kwargs):
        """Configures the optimizer; losses, weights and metrics come from the tasks.

        Args:
            optimizer: str or `keras.optimizers.Optimizer`. Defaults to "adam".
            loss: must be None: set `Task(loss=...)` instead.
            loss_weights: must be None: set `Task(loss_weight=...)` or use a
                balancer.
            metrics: must be None: set `Task(metrics=[...])` instead.
                `weighted_metrics` must be None too: the task metrics are
                weighted by the `sample_weight` given to `fit`/`evaluate`.
            **kwargs: other `keras.Model.compile` arguments (`run_eagerly`,
                `steps_per_execution`, `jit_compile`, ...).
        """
        for argument, value in (("loss", loss), ("loss_weights", loss_weights), ("metrics", metrics)):
            if value is not None:
                raise ValueError(
                    f"MultiTaskModel takes `{argument}` from its Task specs (Task(loss=..., "
                    f"loss_weight=..., metrics=[...])); compile it with the optimizer only. "
                    f"Received: {argument}={value!r}"
                )
        weighted_metrics = kwargs.pop("weighted_metrics", None)
        if weighted_metrics is not None:
            raise ValueError(
                "MultiTaskModel weights its Task metrics by the sample_weight given to fit/evaluate; compile it "
                f"without weighted_metrics and name the metrics in Task(metrics=[...]). "
                f"Received: weighted_metrics={weighted_metrics!r}"
            )
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Restores `compile()` from a saved model's compile config.

        Per-task learning rates (`TaskLearningRates`) are re-keyed to this
        model's variables: a reloaded network may name them differently
        (blocks built from config lose their scope prefix).
        """
        config = keras.saving.deserialize_keras_object(config)
        if isinstance(config.get("optimizer"), TaskLearningRates):
            config["optimizer"] = config["optimizer"].with_variable_tasks(self.variable_tasks)
        self.compile(**config)
        self.optimizer.build(self.trainable_variables)

    # === Losses and metrics ===

    def _task_labels(self, labels) -> dict:
        if not isinstance(labels, dict):
            raise ValueError(
                "Labels must be a dict keyed by task name "
                f"{self.task_names}. Received: labels of type {type(labels).__name__}"
            )
        missing = [name for name in self.task_names if name not in labels]
        if missing:
            raise ValueError(
                f"Labels have no entry for tasks {missing}; give every task a label "
                "(write missing values as NaN, or -1 for class indices). "
                f"Received: label keys {sorted(labels)}"
            )
        return labels

    def _task_sample_weight(self, sample_weight, name):
        if isinstance(sample_weight, dict):
            return sample_weight[name]
        return sample_weight

    def _check_sample_weight(self, sample_weight) -> None:
        """Refuses a per-task `sample_weight` dict that leaves out a task or names an unknown one."""
        if not isinstance(sample_weight, dict):
            return
        missing = [name for name in self.task_names if name not in sample_weight]
        unknown = sorted(set(sample_weight) - set(self.task_names))
        if missing or unknown:
            raise ValueError(
                f"A sample_weight dict needs one entry per task {self.task_names}"
                + (f"; it has none for {missing} (give those tasks weights of 1.0 to leave them unweighted)"
                   if missing else "")
                + (f"; no task is named {unknown}" if unknown else "")
                + f", or give one array for every task. Received: sample_weight keys {sorted(sample_weight)}"
            )

    def compute_task_losses(self, labels, predictions, sample_weight=None):
        """Returns `(losses, counts)`: dicts task name -> mean loss, observed labels.

        Each task's loss is its mean over the observed labels of the global
        batch: under `tf.distribute`, sums and counts are added up across
        replicas before dividing (see `mtl_zoo.models.reduction`).

        Args:
            labels: dict task name -> labels (missing entries allowed).
            predictions: dict task name -> outputs.
            sample_weight: tensor, dict of tensors or None. Per-example
                (or per-element) weights, shared by all tasks or given per task.
        """
        losses = self._task_losses(labels, predictions, sample_weight)
        return (
            dict(zip(self.task_names, tf.unstack(losses.means))),
            dict(zip(self.task_names, tf.unstack(losses.counts))),
        )

    def _task_losses(self, labels, predictions, sample_weight) -> "StepLosses":
        labels = self._task_labels(labels)
        self._check_sample_weight(sample_weight)
        terms = [
            masked_task_loss_terms(
                task,
                *self._loss_targets(task, labels[task.name], predictions[task.name]),
                self._task_sample_weight(sample_weight, task.name),
            )
            for task in self.tasks
        ]
        local_counts = ops.stack([term.count for term in terms])
        shares, counts = global_masked_shares(ops.stack([term.total for term in terms]), local_counts)
        return StepLosses(
            shares=shares,
            means=global_sum(shares),
            counts=counts,
            local_counts=local_counts,
            num_invalid=ops.stack([term.num_invalid for term in terms]),
            local_totals=[term.total for term in terms],
        )

    def _loss_targets(self, task, labels, predictions) -> tuple:
        """`(labels, predictions)` as the task's loss compares them: standardized with `standardize_target`."""
        if not task.standardize_target:
            return labels, predictions
        scale = self.network.get_layer(target_scale_name(task.name))
        return scale.standardize(labels), scale.standardize(predictions)

    def adapt_targets(self, data, tasks=None) -> None:
        """Sets the mean and std of the tasks with `standardize_target` from their labels (NaN left out).

        One pass over `data`; each task's `TargetScale` layer gets the mean
        and population standard deviation of its observed labels per output
        unit (std 1 for a constant target). Call it on the training split
        before `fit`; it does nothing when no task standardizes its target.

        Args:
            data: dict task name -> labels, or an iterable (e.g. a batched
                `tf.data.Dataset`) of such dicts or of `(features, labels)`
                or `(features, labels, sample_weight)` tuples.
            tasks: list of str or None. The tasks to adapt (e.g. only a task
                `add_task` just added). Defaults to None: every task with
                `standardize_target`.

        Example:

        >>> model.adapt_targets({"price": train_prices})  # doctest: +SKIP
        """
        names = self.task_names if tasks is None else list(tasks)
        unknown = [name for name in names if name not in self.task_names]
        if unknown:
            raise ValueError(f"adapt_targets: the model has no tasks {unknown}; its tasks are {self.task_names}. "
                             f"Received: tasks={names}")
        layers = {task.name: self.network.get_layer(target_scale_name(task.name))
                  for task in self.tasks if task.standardize_target and task.name in names}
        if not layers:
            return
        moments = {name: TargetMoments(layer.units) for name, layer in layers.items()}
        for batch in [data] if isinstance(data, dict) else data:
            labels = batch if isinstance(batch, dict) else batch[1]
            for name, accumulator in moments.items():
                accumulator.update(keras.ops.convert_to_numpy(labels[name]))
        for name, layer in layers.items():
            layer.set_statistics(*moments[name].mean_std())

    def _forward(self, data, training: bool, predict=None) -> "Step":
        """Forward pass, task losses, objective and auxiliary terms of one step.

        `predict(features)` replaces the model's call (e.g. encoder then decoder).
        """
        features, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        predictions = predict(features) if predict else self(features, training=training)
        added = self._added_loss_terms()  # read before any cross-replica reduction lets another replica run
        losses = self._task_losses(labels, predictions, sample_weight)
        objective, weights = balanced_objective(
            self.balancer, self.task_names, losses.means, losses.counts, training=training
        )
        auxiliary = [ops.cast(layer.replica_term(), "float32") for layer in self.auxiliary_losses]
        regularization = ops.sum(ops.stack(added)) if added else ops.zeros((), "float32")
        return Step(
            labels=labels,
            predictions=predictions,
            sample_weight=sample_weight,
            losses=losses,
            objective=objective,
            weights=weights,
            extra_loss=ops.sum(ops.stack(auxiliary)) + regularization if auxiliary else regularization,
            auxiliary=auxiliary,
            regularization_loss=regularization,
        )

    def _added_loss_terms(self) -> list:
        """This step's loss terms besides the `AuxiliaryLoss` layers' (float32 scalars).

        Every other term of `self.losses`: the layers' `add_loss` terms
        (activity regularizers, plugin layers) of the call just made, and the
        weight regularizers' penalties. The auxiliary terms are left out here
        (each `AuxiliaryLoss` layer gives its own replica's term).
        """
        auxiliary = {id(term) for layer in self.auxiliary_losses for term in layer.losses}
        return [ops.cast(term, "float32") for term in self.losses if id(term) not in auxiliary]

    def _update_metrics(self, step: "Step"):
        losses = step.losses
        self.invalid_label_counts.update_state(losses.num_invalid)
        other = step.objective - ops.sum(step.weights * losses.means) + step.extra_loss
        self.total_loss_tracker.update_state(losses.means, step.weights, losses.local_counts, other)
        for tracker, value in zip(self.auxiliary_loss_trackers, step.auxiliary):
            tracker.update_state(value)
        if self.regularization_loss_tracker is not None:
            self.regularization_loss_tracker.update_state(step.regularization_loss)
        for index, tracker in enumerate(self.task_weight_trackers):
            tracker.update_state((step.weights if step.task_weights is None else step.task_weights)[index])
        for index, (task, tracker, metrics) in enumerate(
            zip(self.tasks, self.task_loss_trackers, self.task_metrics)
        ):
            tracker.update_state(losses.means[index], sample_weight=losses.local_counts[index])
            update_task_metrics(
                metrics,
                task,
                step.labels[task.name],
                step.predictions[task.name],
                self._task_sample_weight(step.sample_weight, task.name),
            )
        return self._step_logs()

    def _step_logs(self) -> dict:
        """The metrics' results as a step's logs.

        Under `MultiWorkerMirroredStrategy` Keras averages each log over the
        replicas along axis 0, which a scalar lacks (tensorflow/tensorflow#72388),
        so there each result is given as a `[1]` vector, which averages to the
        same scalar (a metric's result is the same on every replica).
        """
        logs = {metric.name: metric.result() for metric in self.metrics}
        strategy = self.distribute_strategy
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.num_replicas_in_sync > 1:
            logs = {name: ops.reshape(value, [1]) if len(value.shape) == 0 else value for name, value in logs.items()}
        return logs

    # === Training and evaluation steps ===

    def train_step(self, data):
        """One training step, by the update rule the balancer chose (`mtl_zoo.models.update_rules`)."""
        return self._update_rule.train_step(self, data)

    @property
    def _loss_weights(self):
        return ops.convert_to_tensor([task.loss_weight for task in self.tasks], "float32")

    def test_step(self, data):
        return self._update_metrics(self._forward(data, training=False))

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        self._update_rule.prepare(self)
        super().make_train_function(force)
        self.train_function = check_labels_after(self.train_function, self.invalid_label_counts)
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is not None and not force:
            return self.test_function
        super().make_test_function(force)
        self.test_function = check_labels_after(self.test_function, self.invalid_label_counts)
        return self.test_function

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Builds the optimizer under the strategy's scope before the first step.

        Keras' version reduces a batch across replicas to build compiled
        losses and metrics; a `MultiTaskModel` is built when it is made and
        has none, and `MultiWorkerMirroredStrategy` cannot reduce a dict
        batch, so only the optimizer is built here.
        """
        if getattr(self, "optimizer", None) is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, plus the balancer's per-epoch hook (`Balancer.on_epoch_end`).

        The hook runs before the given callbacks, so a checkpoint saved at
        the end of an epoch holds the balancer's state after its update
        (e.g. DWA's weights for the next epoch), and a resumed run continues
        with it.
        """
        callbacks = list(callbacks or [])
        if not any(isinstance(callback, BalancerHooks) for callback in callbacks):
            callbacks.insert(0, BalancerHooks(self.balancer))
        return super().fit(*args, callbacks=callbacks, **kwargs)

    # === Config ===

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "network": keras.saving.serialize_keras_object(self.network),
            "tasks": [task.get_config() for task in self.tasks],
            "balancer": keras.saving.serialize_keras_object(self.balancer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        network = keras.saving.deserialize_keras_object(
            config.pop("network"), custom_objects=custom_objects
        )
        balancer = keras.saving.deserialize_keras_object(
            config.pop("balancer"), custom_objects=custom_objects
        )
        return cls(network=network, balancer=balancer, **config)
