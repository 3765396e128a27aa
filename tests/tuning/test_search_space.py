"""The recipe's tuning: section: what it refuses, and the space of a recipe's trunk."""

import keras_tuner
import pytest

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.tuning.search_space import SearchSpace

RECIPE = "recipes/multidigits_hard.yaml"


@pytest.mark.parametrize("override, message", [
    ("tuning={space: {shared_depth: {min: 3, max: 1}}}", "max must be >= min"),
    ("tuning={space: {learning_rate: {min: 0, max: 0.1, sampling: log}}}", "log sampling needs min > 0"),
    ("tuning={objective: {weights: {left_digit: -1.0}}}", "tuning.objective.weights"),
    ("tuning={surprise: 1}", "tuning.surprise"),
])
def test_bad_tuning_section_is_a_recipe_error(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(RECIPE, [override])


def test_unknown_space_name_and_scheme_are_refused():
    with pytest.raises(RecipeError, match=r"tuning\.space\.bogus: not a searchable name"):
        SearchSpace(load_recipe(RECIPE, ["tuning={space: {sharing: hard, balancer: fixed, bogus: 1}}"]))
    with pytest.raises(RecipeError, match=r"tuning\.space\.sharing: unknown sharing scheme"):
        SearchSpace(load_recipe(RECIPE, ["tuning={space: {sharing: [hard, nope]}}"]))


def test_a_scheme_that_cannot_build_is_skipped_with_its_reason():
    space = SearchSpace(load_recipe(RECIPE, ["tuning={space: {sharing: [hard, esmm], balancer: fixed}}"]))
    assert space.schemes == ["hard"] and "esmm" in space.skipped["sharing=esmm"]
    hp = keras_tuner.HyperParameters()
    settings = space.declare(hp)
    assert settings.sharing == "hard" and hp.values["sharing"] == "hard"
    assert settings.sharing_options == {"shared_depth": 2}  # the recipe's own depth is the default
