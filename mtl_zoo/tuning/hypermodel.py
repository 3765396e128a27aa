"""`RecipeHyperModel`: a KerasTuner `HyperModel` that builds a recipe's model from hyperparameters.

Each trial's model is the recipe's, with the trial's settings written into a
copy of the recipe (`with_settings`): sharing scheme and options, balancer,
loss weights and learning rate (see `mtl_zoo.tuning.search_space`). It is
built and compiled by the same public functions `mtl-zoo train` uses
(`build_model_from_recipe`, `compile_model`) and fitted with the recipe's
own training callbacks, plus a `ScoreLogger` that logs the search objective.

Example:

>>> import keras_tuner
>>> hypermodel = RecipeHyperModel(load_recipe("recipes/multidigits_hard.yaml"))  # doctest: +SKIP
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import keras_tuner

from mtl_zoo.training import build_model_from_recipe, compile_model, load_split, training_callbacks
from mtl_zoo.tuning.objective import ScoreLogger, TaskObjective
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
    """

    def __init__(self, recipe, adapt: bool = True, space=None, objective=None):
        super().__init__(name=recipe.name)
        self.recipe = recipe
        self.adapt = adapt
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
        model = build_model_from_recipe(recipe, adapt=self.adapt)
        compile_model(model, recipe.training)
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        """Fits `model` with the recipe's training callbacks and a `ScoreLogger`; returns the `History`.

        Args:
            hp: `keras_tuner.HyperParameters`.
            model: the model `build` returned.
            *args, **kwargs: passed to `model.fit` (e.g. `epochs`). Without
                training data the trial reads the recipe's training and
                validation splits itself, shuffled from the first epoch
                on as in `train`, so a trial trains as `train` would.
            callbacks: list of Keras callbacks (KerasTuner's included).
        """
        recipe = self.recipe_for(hp)
        if not args and "x" not in kwargs:  # each trial reads the splits afresh, as `train` does
            args = (load_split(recipe, recipe.data.train_split, training=True),)
            kwargs.setdefault("validation_data", load_split(recipe, recipe.data.validation_split))
        own = [ScoreLogger(self.objective)] + training_callbacks(recipe, model)
        kwargs.setdefault("verbose", 0)
        kwargs.setdefault("shuffle", False)  # the training split is shuffled by tf.data
        return model.fit(*args, callbacks=own + list(callbacks or []), **kwargs)
