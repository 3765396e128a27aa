"""Run a recipe: data, model, `fit`, and test metrics, in separate steps.

`build_model_from_recipe` builds (under a `tf.distribute` strategy's scope
and the recipe's precision), `compile_model` compiles, `fit_recipe` trains
(epoch-ordered batches, a guard against diverging losses, checkpoints to
resume from) and `evaluate_recipe` scores the test split; `train_recipe`
runs all four, which is what `mtl-zoo train` does.

Example:

>>> from mtl_zoo.recipes.loading import load_recipe
>>> from mtl_zoo.training.run import train_recipe
>>> result = train_recipe(load_recipe("recipes/multidigits_hard.yaml", ["training.epochs=1"]))  # doctest: +SKIP
>>> sorted(result.test_metrics)  # doctest: +SKIP
['left_digit', 'right_digit']
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Optional

import keras
import tensorflow as tf

from mtl_zoo.optimizers.task_learning_rates import AdaptTaskLearningRates, TaskLearningRates
from mtl_zoo.models.builders import build_model
from mtl_zoo.training.checkpoints import RunPosition
from mtl_zoo.data.batching import EpochOrder, in_memory_batches
from mtl_zoo.data.held_out import split_examples, validation_split
from mtl_zoo.data.tables.files import recipe_data_source
from mtl_zoo.distribution.strategies import strategy_record
from mtl_zoo.training.divergence import StopOnNonFiniteLoss
from mtl_zoo.training.early_stopping import recipe_early_stopping
from mtl_zoo.errors import DataError, InvalidLabelError
from mtl_zoo.training.monitoring import GradientConflictMonitor
from mtl_zoo.distribution.precision import mixed_precision_policy, mixed_precision_scope
from mtl_zoo.recipes.validation import builder_errors
from mtl_zoo.registry import BALANCERS, TRUNKS


def recipe_tasks(recipe) -> list:
    """The recipe's tasks as `Task` objects."""
    return [task.to_task() for task in recipe.tasks]


def training_features(recipe, split=None) -> tf.data.Dataset:
    """The recipe's training split as unbatched feature dicts (labels dropped), for `Trunk.adapt`.

    Rows held out of it for validation (`mtl_zoo.data.held_out`) are left out.

    Args:
        recipe: `Recipe`. Supplies the data set, its folder and the training split.
        split: `tf.data.Dataset` or None. The training split already loaded
            (`training_split`). Defaults to None: load it.
    """
    dataset = training_split(recipe) if split is None else split
    return dataset.map(lambda features, labels: features, num_parallel_calls=tf.data.AUTOTUNE)


def training_split(recipe) -> tf.data.Dataset:
    """The recipe's training split, unbatched `(features, labels)`, without rows held out for validation."""
    return split_examples(recipe, recipe.data.train_split)


def training_labels(recipe, task_names, split=None, batch_size: int = 4096) -> tf.data.Dataset:
    """The training split's labels of `task_names` as batches of dicts keyed by task, for `adapt_targets`.

    Args:
        recipe: `Recipe`. Supplies the data set, its folder, the training split and each task's label.
        task_names: list of str. The tasks whose labels to read.
        split: `tf.data.Dataset` or None. The training split already loaded
            (`training_split`). Defaults to None: load it.
        batch_size: int. Labels per batch. Defaults to 4096.
    """
    label_of_task = {task.name: task.label_name for task in recipe.tasks if task.name in task_names}
    dataset = training_split(recipe) if split is None else split
    return dataset.map(lambda features, labels: {name: labels[label] for name, label in label_of_task.items()},
                       num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)


def precision_policy(recipe):
    """The dtype policy the recipe's model is built in: a mixed policy with `training.mixed_precision`, else None."""
    return mixed_precision_policy() if recipe.training.mixed_precision else None


def build_model_from_recipe(recipe, adapt: bool = True, strategy=None):
    """Builds the recipe's `MultiTaskModel`; a `ValueError` from a builder raises `RecipeError`.

    The error names the recipe field, e.g. `model.shared_depth`. A trunk with
    preprocessing layers (`trunk.needs_adaptation`) is first adapted on the
    training split's features, never on the validation or test split.
    Everything (trunk, balancer, network) is created under `strategy`'s
    scope, so its variables are mirrored across the replicas, and with
    `training.mixed_precision` in the mixed dtype policy (`mtl_zoo.distribution.precision`).

    Args:
        recipe: `Recipe`. A validated recipe.
        adapt: bool. Adapt the trunk on the training split. False builds with
            un-adapted preprocessing layers, reading no data: a model only
            good for checking the recipe's options. Defaults to True.
        strategy: `tf.distribute.Strategy` or None. Defaults to the current
            (default) strategy.

    Example:

    >>> model = build_model_from_recipe(load_recipe("multidigits_hard"), strategy=make_strategy("mirrored"))  # doctest: +SKIP
    """
    with (strategy or tf.distribute.get_strategy()).scope(), mixed_precision_scope(precision_policy(recipe)):
        return _build_model(recipe, adapt)


def _build_model(recipe, adapt: bool):
    source = recipe.source
    data_set = recipe_data_source(recipe)
    model_config = recipe.model
    tasks = []
    for index, task in enumerate(recipe.tasks):
        with builder_errors(source, f"tasks[{index}]"):
            tasks.append(task.to_task())
    with builder_errors(source, "model.trunk_options", field="model.trunk"):
        trunk = TRUNKS.get(model_config.trunk)(data_set.inputs, **model_config.trunk_options)
    split = None  # the training split, loaded once for the trunk and the targets
    if adapt and trunk.needs_adaptation:
        try:
            split = training_split(recipe)
            trunk.adapt(training_features(recipe, split))
        except DataError:
            raise
        except ValueError as error:
            raise DataError(
                f"Data set '{data_set.name}' (split '{recipe.data.train_split}', recipe {source}): "
                f"trunk '{model_config.trunk}' could not adapt to the training data: {' '.join(str(error).split())}"
            ) from None
    with builder_errors(source, "balancer"):
        balancer = BALANCERS.get(recipe.balancer.name)(**recipe.balancer.options)
    wide = recipe_wide_path(recipe, data_set, adapt, split)
    with builder_errors(source, "model"):
        model = build_model(
            data_set.inputs,
            trunk,
            tasks,
            sharing=model_config.sharing,
            balancer=balancer,
            name=recipe.name.replace("-", "_").replace(".", "_"),
            feature_alignment=model_config.feature_alignment_option,
            wide=wide,
            **model_config.sharing_options,
        )
    standardized = [task.name for task in tasks if task.standardize_target]
    if adapt and standardized:  # regression targets' mean and std, from the training split only
        model.adapt_targets(training_labels(recipe, standardized, split))
    return model


def recipe_wide_path(recipe, data_set, adapt: bool = True, split=None):
    """The recipe's `model.wide` path (`mtl_zoo.models.wide_path.WidePath`), adapted on the training split, or None."""
    if recipe.model.wide is None:
        return None
    from mtl_zoo.models.wide_path import WidePath

    with builder_errors(recipe.source, "model.wide"):
        wide = WidePath(data_set.inputs, **recipe.model.wide)
    return wide.adapt(training_features(recipe, split)) if adapt else wide


def load_split(recipe, split: str, training: bool = False, data_set=None, order=None,
               skip_batches: int = 0) -> tf.data.Dataset:
    """Returns the batched `(features, labels)` dataset of `split` for the recipe's tasks.

    The split is read into memory once and batched by indices (see
    `mtl_zoo.data.batching`), without paying `tf.data`'s cost per example.
    A training split with an `EpochOrder` visits every epoch in the
    permutation keyed by the recipe's seed and the epoch (`data.shuffle_buffer:
    0` keeps the stored order); without one, training batches are those of
    `shuffle(data.shuffle_buffer, seed).batch(batch_size)`. The training
    split leaves out the rows held out for validation, which the held-out
    split's name reads (`mtl_zoo.data.held_out.split_examples`).

    Args:
        recipe: `Recipe`. Supplies data set, tasks, batch size and seed.
        split: str. Split name of the data set, or of the held-out split.
        training: bool. Shuffle every epoch. Defaults to False.
        data_set: `DataSource` or None. Where to read the split from.
            Defaults to the recipe's (`recipe_data_source`).
        order: `EpochOrder` or None. With `training`, the epoch-keyed order
            to visit the examples in. Defaults to None.
        skip_batches: int. With `order`, batches of every epoch to leave out
            at its start (a run resumed mid-epoch). Defaults to 0.
    """
    data_set = data_set or recipe_data_source(recipe)
    label_of_task = {task.name: task.label_name for task in recipe.tasks}
    examples = split_examples(recipe, split, data_set)

    def select(features, labels):
        return features, {name: labels[label] for name, label in label_of_task.items()}

    shuffle_buffer = recipe.data.shuffle_buffer if training else 0
    if shuffle_buffer and order is not None:
        return in_memory_batches(examples, recipe.training.batch_size, select=select, order=order,
                                 skip_batches=skip_batches)
    batches = in_memory_batches(examples, recipe.training.batch_size, shuffle_buffer=shuffle_buffer,
                                seed=recipe.seed, select=select)
    return batches.skip(skip_batches) if skip_batches else batches


def make_optimizer(training_config):
    """The recipe's optimizer with its learning rate."""
    optimizer = keras.optimizers.get(training_config.optimizer)
    return optimizer.__class__(learning_rate=training_config.learning_rate)


def compile_model(model, training_config) -> None:
    """Compiles a `MultiTaskModel` as a recipe's `training:` section says (optimizer, steps per execution).

    The optimizer is created under the model's strategy scope.

    With `task_learning_rates` or `adaptive_task_learning_rates` the
    optimizer is wrapped in `TaskLearningRates` (multipliers of tasks the
    model does not have are left out).

    Args:
        model: `MultiTaskModel`.
        training_config: `TrainingConfig`. The recipe's `training:` section.

    Example:

    >>> compile_model(model, recipe.training)  # doctest: +SKIP
    """
    with model.distribute_strategy.scope():
        optimizer = make_optimizer(training_config)
        if training_config.task_learning_rates or training_config.adaptive_task_learning_rates:
            multipliers = {task: value for task, value in training_config.task_learning_rates.items()
                           if task in model.task_names}
            optimizer = TaskLearningRates(optimizer, multipliers, variable_tasks=model.variable_tasks,
                                          adaptive=training_config.adaptive_task_learning_rates)
        model.compile(optimizer=optimizer, steps_per_execution=steps_per_execution(model, training_config))


def steps_per_execution(model, training_config) -> int:
    """Training steps per call of the training function: the recipe's, or 1 on several replicas.

    Keras 3 cannot run several steps per call on more than one replica
    (keras-team/keras#19246: "You must feed a value for placeholder tensor").
    """
    return training_config.steps_per_execution if model.distribute_strategy.num_replicas_in_sync == 1 else 1


def training_callbacks(recipe, model) -> list:
    """The callbacks the recipe's `training:` section asks for, to run before any others.

    `adaptive_task_learning_rates` adds `AdaptTaskLearningRates`;
    `gradient_conflicts` adds a `GradientConflictMonitor` on the first batch
    of the unshuffled training split (so the training order is unchanged),
    writing nothing until `write(folder)` is called.

    Args:
        recipe: `Recipe`.
        model: `MultiTaskModel`.
    """
    callbacks = []
    if recipe.training.adaptive_task_learning_rates:
        callbacks.append(AdaptTaskLearningRates())
    if recipe.training.gradient_conflicts is not None and len(model.tasks) > 1:
        held = next(iter(load_split(recipe, recipe.data.train_split).take(1)))
        callbacks.append(GradientConflictMonitor(recipe.training.gradient_conflicts.every_n_steps,
                                                 output_dir=None, batch=held))
    return callbacks


def metrics_by_task(model, logs: dict) -> dict:
    """Groups flat Keras logs into task name -> {metric: value} (loss included)."""
    grouped = {}
    for task in model.tasks:
        names = ["loss"] + list(task.metrics)
        grouped[task.name] = {
            name: float(logs[f"{task.name}_{name}"]) for name in names if f"{task.name}_{name}" in logs
        }
    return grouped


def count_examples(recipe, split: str) -> int:
    """Number of examples in `split` of the recipe's data set.

    Uses the data set's known size, or counts the examples once if unknown.
    The training split's count leaves out rows held out for validation.

    Args:
        recipe: `Recipe`. Supplies the data set and its folder.
        split: str. Split name of the data set, or of the held-out split.

    Example:

    >>> count_examples(load_recipe("recipes/multidigits_hard.yaml"), "train")  # doctest: +SKIP
    12000
    """
    dataset = split_examples(recipe, split)
    size = int(dataset.cardinality())
    if size < 0:  # unknown or infinite cardinality: count one pass
        size = int(dataset.reduce(0, lambda count, _: count + 1))
    return size


@dataclasses.dataclass
class TrainingResult:
    """What `train_recipe` returns.

    Args:
        model: `MultiTaskModel`. The trained model.
        history: dict. Keras history (metric name -> per-epoch values).
        test_metrics: dict. Task name -> {metric: value} on the test split.
        train_seconds: float. Time spent in `fit`, each epoch's validation
            pass included.
        evaluation_seconds: float. Time spent evaluating the test split.
        train_examples: int. Examples in the training split (one epoch).
        test_batch: tuple. One `(features, labels)` batch of the test split,
            for round-trip checks.
        artifact_writers: list. Callables `write(folder)` that add their
            files to the run's artifact folder (e.g. the gradient-conflict
            heatmap). Defaults to none.
        distribution: dict. The strategy, replicas and workers it trained
            on (`mtl_zoo.distribution.strategies.strategy_record`).
        checkpoints: `RunCheckpoints` or None. The run's checkpoints, to
            remove once its artifact is written.
        epochs_trained: float or None. Epochs this process trained: all of
            them on a fresh run, fewer after a resume (an epoch resumed
            mid-way counts as the share of its batches left) or an early
            stop. None: as many as `history` holds.
        early_stopping: dict or None. With `training.early_stopping`, its
            monitor, best and stopped epochs
            (`RestoreBestEarlyStopping.record`). Defaults to None.
    """

    model: object
    history: dict
    test_metrics: dict
    train_seconds: float
    evaluation_seconds: float
    train_examples: int
    test_batch: tuple
    artifact_writers: list = dataclasses.field(default_factory=list)
    distribution: dict = dataclasses.field(default_factory=lambda: {"strategy": "default", "replicas": 1, "workers": 1})
    checkpoints: object = None
    epochs_trained: Optional[float] = None
    early_stopping: Optional[dict] = None

    @property
    def examples_per_second(self) -> float:
        """Training examples per second of this process's `fit` (epochs trained x train examples / train seconds)."""
        epochs = self.epochs_trained
        if epochs is None:
            epochs = len(next(iter(self.history.values()), []))
        return epochs * self.train_examples / self.train_seconds if self.train_seconds > 0 else 0.0


def epochs_trained(position, epochs: int, batches_per_epoch: int) -> float:
    """Epochs a run trains from `position` to the end: an epoch resumed mid-way counts as the share left.

    Args:
        position: `RunPosition` or None. Where the run resumed (None: a fresh run).
        epochs: int. The recipe's epochs.
        batches_per_epoch: int. Training batches in one epoch.

    Example:

    >>> from mtl_zoo.training.checkpoints import RunPosition
    >>> epochs_trained(None, 3, 10), epochs_trained(RunPosition(epoch=1), 3, 10), epochs_trained(RunPosition(1, 4), 3, 10)
    (3.0, 2.0, 1.6)
    """
    if position is None:
        return float(epochs)
    left = max(epochs - position.epoch, 0)
    if left and position.step:
        return round(left - min(position.step / max(batches_per_epoch, 1), 1.0), 6)
    return float(left)


def fit_recipe(model, recipe, callbacks=(), checkpoints=None, early_stopping=None) -> tuple:
    """Trains a compiled model on the recipe's training split; returns `(history, train_seconds, writers)`.

    Every epoch visits the training split in its epoch-keyed order
    (`EpochOrder`), so the batches are the same on any strategy and after a
    resume. A task loss that becomes NaN or infinite stops training with
    `TrainingDivergedError` (`StopOnNonFiniteLoss`), before a checkpoint of
    that state is saved. With `checkpoints` the run first restores their
    latest state: a run stopped mid-epoch finishes that epoch from the step
    it reached (a `fit` of the remaining batches), then trains the others.
    With `training.early_stopping` training ends once the monitored
    validation metric stops improving, and the model is left with the best
    epoch's weights; the checkpoints keep that state too, so a resumed run
    neither trains past an early stop nor loses the best weights.

    Args:
        model: `MultiTaskModel`. Compiled (`compile_model`).
        recipe: `Recipe`.
        callbacks: list of Keras callbacks, run after the recipe's own.
        checkpoints: `RunCheckpoints` or None. Defaults to None.
        early_stopping: `RestoreBestEarlyStopping` or None. Defaults to the
            recipe's (`recipe_early_stopping`; none without
            `training.early_stopping`).

    Returns:
        The Keras history of every epoch (restored ones included), the
        seconds `fit` took in this process, and the `write(folder)`
        callables of the recipe's callbacks that leave files (the
        gradient-conflict heatmap).

    Example:

    >>> history, seconds, writers = fit_recipe(model, recipe)  # doctest: +SKIP
    """
    order = EpochOrder(recipe.seed)
    stopping = early_stopping or recipe_early_stopping(recipe, model)
    if checkpoints and stopping:
        checkpoints.track(early_stopping=stopping.state)
    position = (checkpoints.restore() if checkpoints else None) or RunPosition()
    guard = StopOnNonFiniteLoss(model.task_names, str(checkpoints.folder) if checkpoints else None)
    saver = [checkpoints.callback(position)] if checkpoints else []
    recipe_callbacks = training_callbacks(recipe, model)
    stopping_callbacks = stopping.callbacks() if stopping else []  # before the saver: it saves their state
    all_callbacks = [order.callback(), guard] + recipe_callbacks + stopping_callbacks + saver + list(callbacks)
    validation_name = validation_split(recipe)
    validation = load_split(recipe, validation_name) if validation_name else None
    history = {key: list(values) for key, values in position.history.items()}
    epochs = recipe.training.epochs
    start = time.perf_counter()
    try:
        for first_epoch, last_epoch, skip in _fit_segments(position, epochs):
            if stopping and stopping.stopped:  # stopped before the resume, or in its first (partial) epoch
                break
            train = load_split(recipe, recipe.data.train_split, training=True, order=order, skip_batches=skip)
            segment = model.fit(train, validation_data=validation, initial_epoch=first_epoch, epochs=last_epoch,
                                callbacks=all_callbacks, shuffle=False, verbose=0)
            for key, values in segment.history.items():
                history.setdefault(key, []).extend(float(value) for value in values)
    except InvalidLabelError as error:
        raise DataError(f"Data set '{recipe_data_source(recipe).name}' (recipe {recipe.source}): {error}") from None
    if stopping:
        stopping.restore_best()
    writers = [callback.write for callback in recipe_callbacks if isinstance(callback, GradientConflictMonitor)]
    return history, time.perf_counter() - start, writers


def _fit_segments(position, epochs: int) -> list:
    """`(initial_epoch, epochs, batches to skip)` of each `fit` that takes a run from `position` to the end."""
    segments = []
    epoch = position.epoch
    if position.step and epoch < epochs:
        segments.append((epoch, epoch + 1, position.step))
        epoch += 1
    if epoch < epochs:
        segments.append((epoch, epochs, 0))
    return segments


def evaluate_recipe(model, recipe) -> tuple:
    """Evaluates the model on the recipe's test split; returns `(metrics by task, seconds, one test batch)`.

    Example:

    >>> metrics, seconds, batch = evaluate_recipe(model, recipe)  # doctest: +SKIP
    """
    test = load_split(recipe, recipe.data.test_split)
    start = time.perf_counter()
    try:
        logs = model.evaluate(test, return_dict=True, verbose=0)
    except InvalidLabelError as error:
        raise DataError(f"Data set '{recipe_data_source(recipe).name}' (recipe {recipe.source}): {error}") from None
    return metrics_by_task(model, logs), time.perf_counter() - start, next(iter(test))


def train_recipe(recipe, callbacks=(), strategy=None, checkpoints=None) -> TrainingResult:
    """Builds, trains and evaluates the recipe's model.

    Seeds Keras, NumPy and Python with `recipe.seed` but flips no process-wide
    switch: a caller that wants bit-for-bit repeatable runs enables
    `tf.config.experimental.enable_op_determinism()` first, as `mtl-zoo train`
    does when `training.deterministic` is true.

    Args:
        recipe: `Recipe`. A validated recipe.
        callbacks: list of Keras callbacks (e.g. progress printing).
        strategy: `tf.distribute.Strategy` or None. Builds and trains under
            it (`mtl_zoo.distribution.strategies.make_strategy`). Defaults to the current
            (default) strategy.
        checkpoints: callable or None. `checkpoints(model)` returns the
            `RunCheckpoints` to save to and resume from. Defaults to None.

    Returns:
        A `TrainingResult`.
    """
    keras.utils.set_random_seed(recipe.seed)
    strategy = strategy or tf.distribute.get_strategy()
    model = build_model_from_recipe(recipe, strategy=strategy)
    compile_model(model, recipe.training)
    train_examples = count_examples(recipe, recipe.data.train_split)
    run_checkpoints = checkpoints(model) if checkpoints else None
    stopping = recipe_early_stopping(recipe, model)
    history, train_seconds, writers = fit_recipe(model, recipe, callbacks, run_checkpoints, early_stopping=stopping)
    record = {**stopping.record(), "validation_split": validation_split(recipe)} if stopping else None
    epochs = (record or {}).get("stopped_epoch") or recipe.training.epochs
    trained = epochs_trained(run_checkpoints.restored_position if run_checkpoints else None, epochs,
                             math.ceil(train_examples / recipe.training.batch_size))
    test_metrics, evaluation_seconds, test_batch = evaluate_recipe(model, recipe)
    return TrainingResult(
        model=model,
        history=history,
        test_metrics=test_metrics,
        train_seconds=train_seconds,
        evaluation_seconds=evaluation_seconds,
        train_examples=train_examples,
        test_batch=test_batch,
        artifact_writers=writers,
        distribution=strategy_record(strategy),
        checkpoints=run_checkpoints,
        epochs_trained=trained,
        early_stopping=record,
    )
