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

from mtl_zoo.builders import build_model
from mtl_zoo.errors import DataError, InvalidLabelError, OptionError, RecipeError
from mtl_zoo.registry import BALANCERS, DATASETS, TRUNKS
from mtl_zoo.tasks import Task


def recipe_tasks(recipe) -> list:
    """The recipe's tasks as `Task` objects."""
    return [
        Task(
            name=task.name,
            kind=task.kind,
            classes=task.classes,
            loss=task.loss,
            metrics=task.metrics,
            loss_weight=task.loss_weight,
            head_units=task.head_units,
        )
        for task in recipe.tasks
    ]


def build_model_from_recipe(recipe):
    """Builds the recipe's `MultiTaskModel`; bad options raise `RecipeError`.

    Args:
        recipe: `Recipe`. A validated recipe.
    """
    source = recipe.source
    data_set = DATASETS.get(recipe.data.name)
    model_config = recipe.model
    try:
        tasks = recipe_tasks(recipe)
    except ValueError as error:
        raise RecipeError(source, "tasks", str(error)) from None
    try:
        trunk = TRUNKS.get(model_config.trunk)(data_set.inputs, **model_config.trunk_options)
    except OptionError as error:
        raise RecipeError(source, f"model.trunk_options.{error.option}", str(error)) from None
    try:
        balancer = BALANCERS.get(recipe.balancer.name)(**recipe.balancer.options)
    except OptionError as error:
        raise RecipeError(source, f"balancer.{error.option}", str(error)) from None
    try:
        return build_model(
            data_set.inputs,
            trunk,
            tasks,
            sharing=model_config.sharing,
            balancer=balancer,
            name=recipe.name.replace("-", "_").replace(".", "_"),
            **model_config.sharing_options,
        )
    except OptionError as error:
        raise RecipeError(source, f"model.{error.option}", str(error)) from None


def load_split(recipe, split: str, training: bool = False) -> tf.data.Dataset:
    """Returns the batched `(features, labels)` dataset of `split` for the recipe's tasks.

    Args:
        recipe: `Recipe`. Supplies data set, tasks, batch size and seed.
        split: str. Split name of the data set.
        training: bool. Shuffle every epoch. Defaults to False.
    """
    data_set = DATASETS.get(recipe.data.name)
    label_of_task = {task.name: task.label_name for task in recipe.tasks}
    dataset = data_set.load_split(split, data_dir=recipe.data.data_dir)
    dataset = dataset.map(
        lambda features, labels: (
            features,
            {name: labels[label] for name, label in label_of_task.items()},
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).cache()
    if training and recipe.data.shuffle_buffer:
        dataset = dataset.shuffle(recipe.data.shuffle_buffer, seed=recipe.seed)
    return dataset.batch(recipe.training.batch_size).prefetch(tf.data.AUTOTUNE)


def make_optimizer(training_config):
    """The recipe's optimizer with its learning rate."""
    optimizer = keras.optimizers.get(training_config.optimizer)
    return optimizer.__class__(learning_rate=training_config.learning_rate)


def metrics_by_task(model, logs: dict) -> dict:
    """Groups flat Keras logs into task name -> {metric: value} (loss included)."""
    grouped = {}
    for task in model.tasks:
        names = ["loss"] + list(task.metrics)
        grouped[task.name] = {
            name: float(logs[f"{task.name}_{name}"]) for name in names if f"{task.name}_{name}" in logs
        }
    return grouped


@dataclasses.dataclass
class TrainingResult:
    """What `train_recipe` returns.

    Args:
        model: `MultiTaskModel`. The trained model.
        history: dict. Keras history (metric name -> per-epoch values).
        test_metrics: dict. Task name -> {metric: value} on the test split.
        wall_time_seconds: float. Time spent in `fit` and `evaluate`.
        test_batch: tuple. One `(features, labels)` batch of the test split,
            for round-trip checks.
    """

    model: object
    history: dict
    test_metrics: dict
    wall_time_seconds: float
    test_batch: tuple


def train_recipe(recipe, callbacks=()) -> TrainingResult:
    """Builds, trains and evaluates the recipe's model.

    Args:
        recipe: `Recipe`. A validated recipe.
        callbacks: list of Keras callbacks (e.g. progress printing).

    Returns:
        A `TrainingResult`.
    """
    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model_from_recipe(recipe)
    model.compile(optimizer=make_optimizer(recipe.training))
    train = load_split(recipe, recipe.data.train_split, training=True)
    validation = (
        load_split(recipe, recipe.data.validation_split) if recipe.data.validation_split else None
    )
    test = load_split(recipe, recipe.data.test_split)
    start = time.perf_counter()
    try:
        history = model.fit(
            train,
            validation_data=validation,
            epochs=recipe.training.epochs,
            callbacks=list(callbacks),
            shuffle=False,  # the training split is shuffled by tf.data
            verbose=0,
        )
        test_logs = model.evaluate(test, return_dict=True, verbose=0)
    except InvalidLabelError as error:
        raise DataError(f"Data set '{recipe.data.name}' (recipe {recipe.source}): {error}") from None
    wall_time = time.perf_counter() - start
    return TrainingResult(
        model=model,
        history={key: [float(value) for value in values] for key, values in history.history.items()},
        test_metrics=metrics_by_task(model, test_logs),
        wall_time_seconds=wall_time,
        test_batch=next(iter(test)),
    )
