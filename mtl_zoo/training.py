"""Run a recipe: data, model, `fit`, and test metrics.

Example:

>>> from mtl_zoo.recipes import load_recipe
>>> from mtl_zoo.training import train_recipe
>>> result = train_recipe(load_recipe("recipes/multidigits_hard.yaml", ["training.epochs=1"]))  # doctest: +SKIP
>>> sorted(result.test_metrics)  # doctest: +SKIP
['left_digit', 'right_digit']
"""

from __future__ import annotations

import dataclasses
import time

import keras
import tensorflow as tf

from mtl_zoo.balancing.task_learning_rates import AdaptTaskLearningRates, TaskLearningRates
from mtl_zoo.builders import build_model
from mtl_zoo.data.batching import in_memory_batches
from mtl_zoo.data.files import recipe_data_source
from mtl_zoo.errors import DataError, InvalidLabelError
from mtl_zoo.monitoring import GradientConflictMonitor
from mtl_zoo.recipes import builder_errors
from mtl_zoo.registry import BALANCERS, TRUNKS


def recipe_tasks(recipe) -> list:
    """The recipe's tasks as `Task` objects."""
    return [task.to_task() for task in recipe.tasks]


def training_features(recipe) -> tf.data.Dataset:
    """The recipe's training split as unbatched feature dicts (labels dropped), for `Trunk.adapt`.

    Args:
        recipe: `Recipe`. Supplies the data set, its folder and the training split.
    """
    data_set = recipe_data_source(recipe)
    dataset = data_set.load_split(recipe.data.train_split, data_dir=recipe.data.data_dir)
    return dataset.map(lambda features, labels: features, num_parallel_calls=tf.data.AUTOTUNE)


def build_model_from_recipe(recipe, adapt: bool = True):
    """Builds the recipe's `MultiTaskModel`; a `ValueError` from a builder raises `RecipeError`.

    The error names the recipe field, e.g. `model.shared_depth`. A trunk with
    preprocessing layers (`trunk.needs_adaptation`) is first adapted on the
    training split's features, never on the validation or test split.

    Args:
        recipe: `Recipe`. A validated recipe.
        adapt: bool. Adapt the trunk on the training split. False builds with
            un-adapted preprocessing layers, reading no data: a model only
            good for checking the recipe's options. Defaults to True.
    """
    source = recipe.source
    data_set = recipe_data_source(recipe)
    model_config = recipe.model
    tasks = []
    for index, task in enumerate(recipe.tasks):
        with builder_errors(source, f"tasks[{index}]"):
            tasks.append(task.to_task())
    with builder_errors(source, "model.trunk_options", field="model.trunk"):
        trunk = TRUNKS.get(model_config.trunk)(data_set.inputs, **model_config.trunk_options)
    if adapt and trunk.needs_adaptation:
        try:
            trunk.adapt(training_features(recipe))
        except DataError:
            raise
        except ValueError as error:
            raise DataError(
                f"Data set '{data_set.name}' (split '{recipe.data.train_split}', recipe {source}): "
                f"trunk '{model_config.trunk}' could not adapt to the training data: {' '.join(str(error).split())}"
            ) from None
    with builder_errors(source, "balancer"):
        balancer = BALANCERS.get(recipe.balancer.name)(**recipe.balancer.options)
    with builder_errors(source, "model"):
        return build_model(
            data_set.inputs,
            trunk,
            tasks,
            sharing=model_config.sharing,
            balancer=balancer,
            name=recipe.name.replace("-", "_").replace(".", "_"),
            feature_alignment=model_config.feature_alignment_option,
            **model_config.sharing_options,
        )


def load_split(recipe, split: str, training: bool = False, data_set=None) -> tf.data.Dataset:
    """Returns the batched `(features, labels)` dataset of `split` for the recipe's tasks.

    The split is read into memory once and batched by shuffled indices (see
    `mtl_zoo.data.batching`): the batches are those of
    `shuffle(data.shuffle_buffer, seed).batch(batch_size)`, without paying
    `tf.data`'s cost per example.

    Args:
        recipe: `Recipe`. Supplies data set, tasks, batch size and seed.
        split: str. Split name of the data set.
        training: bool. Shuffle every epoch. Defaults to False.
        data_set: `DataSource` or None. Where to read the split from.
            Defaults to the recipe's (`recipe_data_source`).
    """
    data_set = data_set or recipe_data_source(recipe)
    label_of_task = {task.name: task.label_name for task in recipe.tasks}
    return in_memory_batches(
        data_set.load_split(split, data_dir=recipe.data.data_dir),
        recipe.training.batch_size,
        shuffle_buffer=recipe.data.shuffle_buffer if training else 0,
        seed=recipe.seed,
        select=lambda features, labels: (features, {name: labels[label] for name, label in label_of_task.items()}),
    )


def make_optimizer(training_config):
    """The recipe's optimizer with its learning rate."""
    optimizer = keras.optimizers.get(training_config.optimizer)
    return optimizer.__class__(learning_rate=training_config.learning_rate)


def compile_model(model, training_config) -> None:
    """Compiles a `MultiTaskModel` as a recipe's `training:` section says (optimizer, steps per execution).

    With `task_learning_rates` or `adaptive_task_learning_rates` the
    optimizer is wrapped in `TaskLearningRates` (multipliers of tasks the
    model does not have are left out).

    Args:
        model: `MultiTaskModel`.
        training_config: `TrainingConfig`. The recipe's `training:` section.

    Example:

    >>> compile_model(model, recipe.training)  # doctest: +SKIP
    """
    optimizer = make_optimizer(training_config)
    if training_config.task_learning_rates or training_config.adaptive_task_learning_rates:
        multipliers = {task: value for task, value in training_config.task_learning_rates.items()
                       if task in model.task_names}
        optimizer = TaskLearningRates(optimizer, multipliers, variable_tasks=model.variable_tasks,
                                      adaptive=training_config.adaptive_task_learning_rates)
    model.compile(optimizer=optimizer, steps_per_execution=training_config.steps_per_execution)


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

    Args:
        recipe: `Recipe`. Supplies the data set and its folder.
        split: str. Split name of the data set.

    Example:

    >>> count_examples(load_recipe("recipes/multidigits_hard.yaml"), "train")  # doctest: +SKIP
    12000
    """
    dataset = recipe_data_source(recipe).load_split(split, data_dir=recipe.data.data_dir)
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
    """

    model: object
    history: dict
    test_metrics: dict
    train_seconds: float
    evaluation_seconds: float
    train_examples: int
    test_batch: tuple
    artifact_writers: list = dataclasses.field(default_factory=list)

    @property
    def examples_per_second(self) -> float:
        """Training examples per second of `fit` (epochs x train examples / train seconds)."""
        epochs = len(next(iter(self.history.values()), []))
        return epochs * self.train_examples / self.train_seconds if self.train_seconds > 0 else 0.0


def train_recipe(recipe, callbacks=()) -> TrainingResult:
    """Builds, trains and evaluates the recipe's model.

    Seeds Keras, NumPy and Python with `recipe.seed` but flips no process-wide
    switch: a caller that wants bit-for-bit repeatable runs enables
    `tf.config.experimental.enable_op_determinism()` first, as `mtl-zoo train`
    does when `training.deterministic` is true.

    Args:
        recipe: `Recipe`. A validated recipe.
        callbacks: list of Keras callbacks (e.g. progress printing).

    Returns:
        A `TrainingResult`.
    """
    keras.utils.set_random_seed(recipe.seed)
    model = build_model_from_recipe(recipe)
    compile_model(model, recipe.training)
    train = load_split(recipe, recipe.data.train_split, training=True)
    own_callbacks = training_callbacks(recipe, model)
    validation = (
        load_split(recipe, recipe.data.validation_split) if recipe.data.validation_split else None
    )
    test = load_split(recipe, recipe.data.test_split)
    train_examples = count_examples(recipe, recipe.data.train_split)
    try:
        start = time.perf_counter()
        history = model.fit(
            train,
            validation_data=validation,
            epochs=recipe.training.epochs,
            callbacks=own_callbacks + list(callbacks),
            shuffle=False,  # the training split is shuffled by tf.data
            verbose=0,
        )
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        test_logs = model.evaluate(test, return_dict=True, verbose=0)
        evaluation_seconds = time.perf_counter() - start
    except InvalidLabelError as error:
        raise DataError(f"Data set '{recipe_data_source(recipe).name}' (recipe {recipe.source}): {error}") from None
    return TrainingResult(
        model=model,
        history={key: [float(value) for value in values] for key, values in history.history.items()},
        test_metrics=metrics_by_task(model, test_logs),
        train_seconds=train_seconds,
        evaluation_seconds=evaluation_seconds,
        train_examples=train_examples,
        test_batch=next(iter(test)),
        artifact_writers=[callback.write for callback in own_callbacks
                          if isinstance(callback, GradientConflictMonitor)],
    )
