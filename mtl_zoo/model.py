"""`MultiTaskModel`: a Keras model that trains several tasks at once.

It wraps a functional network whose output is a dict keyed by task name and
takes everything task-specific from its `Task` specs: each task's loss (mean
over observed labels, so missing labels are skipped), loss weight and
metrics. `train_step` computes one loss per task and asks the model's
balancer for the objective; `fit` logs the total `loss`, one `{task}_loss`
per task and every `{task}_{metric}`.

Example:

>>> import numpy as np
>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.tasks import Task
>>> from mtl_zoo.trunks.vision import vision_conv
>>> from mtl_zoo.builders import build_model
>>> inputs = {"image": InputSpec((12, 20, 1))}
>>> tasks = [Task("left_digit", "classification", 10), Task("right_digit", "classification", 10)]
>>> model = build_model(inputs, vision_conv(inputs, filters=[8], dense_units=[16]), tasks)
>>> model.compile(optimizer="adam")
>>> x = {"image": np.zeros((4, 12, 20, 1), "float32")}
>>> y = {"left_digit": np.array([1, 2, -1, 3]), "right_digit": np.array([0, 0, 1, 1])}
>>> history = model.fit(x, y, epochs=1, verbose=0)
>>> sorted(history.history)[:3]
['left_digit_accuracy', 'left_digit_loss', 'loss']
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from mtl_zoo.balancing.base import Balancer
from mtl_zoo.balancing.fixed import FixedWeights
from mtl_zoo.registry import BALANCERS
from mtl_zoo.task_losses import masked_task_loss_and_count
from mtl_zoo.task_metrics import make_task_metrics, update_task_metrics
from mtl_zoo.tasks import Task, check_unique_names


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
            task name -> tensor (see `mtl_zoo.builders.build_network`).
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
        if sorted(outputs) != sorted(self.task_names):
            raise ValueError(
                "The network's outputs must be a dict keyed by the task names "
                f"{sorted(self.task_names)}. Received: outputs={sorted(outputs) or network.output}"
            )
        # === Layers ===
        self.network = network
        self.balancer = resolve_balancer(balancer)
        self.balancer.build_for_tasks(self.tasks)
        # === Metrics ===
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.task_loss_trackers = [keras.metrics.Mean(name=f"{name}_loss") for name in self.task_names]
        self.task_metrics = [make_task_metrics(task) for task in self.tasks]
        self.built = True

    @property
    def task_names(self) -> list:
        """Names of the tasks, in model order."""
        return [task.name for task in self.tasks]

    @property
    def metrics(self) -> list:
        return (
            [self.total_loss_tracker]
            + list(self.task_loss_trackers)
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
        kwargs.pop("weighted_metrics", None)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Restores `compile()` from a saved model's compile config."""
        self.compile(**keras.saving.deserialize_keras_object(config))
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
            return sample_weight.get(name)
        return sample_weight

    def compute_task_losses(self, labels, predictions, sample_weight=None):
        """Returns `(losses, counts)`: dicts task name -> mean loss, observed labels.

        Args:
            labels: dict task name -> labels (missing entries allowed).
            predictions: dict task name -> outputs.
            sample_weight: tensor, dict of tensors or None. Per-example
                weights, shared by all tasks or given per task.
        """
        labels = self._task_labels(labels)
        losses, counts = {}, {}
        for task in self.tasks:
            losses[task.name], counts[task.name] = masked_task_loss_and_count(
                task,
                labels[task.name],
                predictions[task.name],
                self._task_sample_weight(sample_weight, task.name),
            )
        return losses, counts

    def _update_metrics(self, labels, predictions, sample_weight, losses, counts, objective):
        batch_size = ops.shape(next(iter(predictions.values())))[0]
        self.total_loss_tracker.update_state(objective, sample_weight=batch_size)
        for task, tracker, metrics in zip(self.tasks, self.task_loss_trackers, self.task_metrics):
            tracker.update_state(losses[task.name], sample_weight=counts[task.name])
            update_task_metrics(
                metrics,
                task,
                labels[task.name],
                predictions[task.name],
                self._task_sample_weight(sample_weight, task.name),
            )
        return {metric.name: metric.result() for metric in self.metrics}

    # === Training and evaluation steps ===

    def train_step(self, data):
        features, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            predictions = self(features, training=True)
            losses, counts = self.compute_task_losses(labels, predictions, sample_weight)
            objective = self.balancer.combine(losses)
            total = objective + (ops.sum(ops.stack(self.losses)) if self.losses else 0.0)
            scaled = self.optimizer.scale_loss(total / num_replicas)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply(gradients, variables)
        return self._update_metrics(labels, predictions, sample_weight, losses, counts, total)

    def test_step(self, data):
        features, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        predictions = self(features, training=False)
        losses, counts = self.compute_task_losses(labels, predictions, sample_weight)
        objective = self.balancer.combine(losses)
        total = objective + (ops.sum(ops.stack(self.losses)) if self.losses else 0.0)
        return self._update_metrics(labels, predictions, sample_weight, losses, counts, total)

    # === Config ===

    def get_config(self) -> dict:
        return {
            "name": self.name,
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
