"""`RecipeHyperModel`: a KerasTuner `HyperModel` that builds a recipe's model from hyperparameters.

Each trial's model is the recipe's, with the trial's settings written into a
copy of the recipe (`with_settings`): sharing scheme and options, balancer,
loss weights and learning rate (see `mtl_zoo.tuning.search_space`). It is
built and compiled by the same public functions `mtl-zoo train` uses
(`build_model_from_recipe`, `compile_model`) and fitted with the recipe's
own training callbacks (`fit_recipe`: the same epoch order, divergence guard
and callbacks), plus a `ScoreLogger` that logs the search objective, so a
trial trains exactly as `mtl-zoo train` would train its recipe.

Example:

>>> import keras_tuner
>>> hypermodel = RecipeHyperModel(load_recipe("recipes/multidigits_hard.yaml"))  # doctest: +SKIP
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import keras_tuner

from mtl_zoo.data.batching import EpochOrder
from mtl_zoo.training.run import build_model_from_recipe, compile_model, fit_recipe, load_split, training_callbacks
from mtl_zoo.training.score import SCORE_NAME, ScoreLogger, TaskObjective
from mtl_zoo.tuning.search_space import SearchSpace, with_settings


class RecipeHyperModel(keras_tuner.HyperModel):
    """Builds and fits a recipe's `MultiTaskModel` from KerasTuner hyperparameters.

    Args:
        recipe: `Recipe`. The recipe to search around; its `tuning:` section
            (if any) gives the search space and objective.
        adapt: bool. Adapt a trunk's preprocessing layers on the training
            split for every model (as `train` does). False builds without
            reading data (for checking that models build). Defaults to True.
        space: `SearchSpace` or None. Defaults to `SearchSpace(recipe)`.
        objective: `TaskObjective` or None. Defaults to the recipe's.
        strategy: `tf.distribute.Strategy` or None. Every trial's model is
            built and trained under it. Defaults to the current strategy.
    """

    def __init__(self, recipe, adapt: bool = True, space=None, objective=None, strategy=None):
        super().__init__(name=recipe.name)
        self.recipe = recipe
        self.adapt = adapt
        self.strategy = strategy
        self.space = space or SearchSpace(recipe)
        self.objective = objective or TaskObjective.from_recipe(recipe)

    def recipe_for(self, hp):
        """The recipe of a trial: a copy of the recipe with `hp`'s values (declared on `hp` if new).

        Args:
            hp: `keras_tuner.HyperParameters`.
        """
        return with_settings(self.recipe, self.space.declare(hp))

    def build(self, hp):
        """Builds and compiles the trial's model, seeded with the recipe's seed.

        Args:
            hp: `keras_tuner.HyperParameters`.

        Returns:
            A compiled `MultiTaskModel`.
        """
        recipe = self.recipe_for(hp)
        keras.utils.set_random_seed(recipe.seed)
        model = build_model_from_recipe(recipe, adapt=self.adapt, strategy=self.strategy)
        compile_model(model, recipe.training)
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        """Trains `model` as `train` does (`mtl_zoo.training.run.fit_recipe`); returns its best epoch's logs.

        The trial's recipe supplies the data, epoch order and callbacks; a
        `ScoreLogger` runs before the given callbacks (KerasTuner's), so they
        see `multi_task_score`. Hyperband's `epochs` and `initial_epoch`
        (a trial continuing an earlier one's weights) are honoured.

        Args:
            hp: `keras_tuner.HyperParameters`.
            model: the model `build` returned.
            *args: unused (each trial reads the recipe's splits itself).
            callbacks: list of Keras callbacks (KerasTuner's included).
            **kwargs: `epochs` (default: the recipe's) and `initial_epoch`;
                other `fit` arguments are ignored.

        Returns:
            dict. The logs (`multi_task_score`, `val_{task}_{metric}`, ...)
            of the epoch with the highest score.
        """
        recipe = self.recipe_for(hp)
        epochs = int(kwargs.get("epochs") or recipe.training.epochs)
        initial_epoch = int(kwargs.get("initial_epoch") or 0)
        given = [ScoreLogger(self.objective)] + list(callbacks or [])
        if initial_epoch:
            history = self._continue(model, recipe, initial_epoch, epochs, given)
        else:
            trial = recipe.model_copy(deep=True)
            trial.training.epochs = epochs
            trial._source = recipe.source
            history, _, _ = fit_recipe(model, trial, callbacks=given)
        scores = history[SCORE_NAME]
        best = max(range(len(scores)), key=scores.__getitem__)
        return {name: float(values[best]) for name, values in history.items() if len(values) == len(scores)}

    def _continue(self, model, recipe, initial_epoch: int, epochs: int, callbacks: list) -> dict:
        """Trains epochs `initial_epoch` to `epochs` of a model holding an earlier trial's weights (Hyperband)."""
        order = EpochOrder(recipe.seed)
        train = load_split(recipe, recipe.data.train_split, training=True, order=order)
        validation = load_split(recipe, recipe.data.validation_split)
        own = [order.callback()] + training_callbacks(recipe, model)
        history = model.fit(train, validation_data=validation, initial_epoch=initial_epoch, epochs=epochs,
                            callbacks=own + callbacks, shuffle=False, verbose=0)
        return {name: [float(value) for value in values] for name, values in history.history.items()}
