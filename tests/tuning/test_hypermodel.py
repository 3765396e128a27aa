"""RecipeHyperModel: the default space builds for every trunk/scheme pair that fits the data; fixed values win."""

import keras_tuner
import pytest

from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.registry import BALANCERS, SHARING_SCHEMES
from mtl_zoo.tuning.hypermodel import RecipeHyperModel



@pytest.fixture(scope="module")
def recipes(synthetic_recipe_path):
    """A recipe per trunk with data that fits it: vision_conv (MultiDigits), features (a synthetic CSV file).

    The `mlp` trunk takes one numeric vector input, which neither a CSV file (one input per column) nor a
    registered data set here gives.
    """
    return {
        "vision_conv": load_recipe("recipes/multidigits_hard.yaml"),
        "features": load_recipe(synthetic_recipe_path),
    }


@pytest.mark.parametrize("trunk", ["vision_conv", "features"])
def test_default_space_builds_every_scheme_that_fits(recipes, trunk):
    recipe = recipes[trunk]
    assert recipe.model.trunk == trunk
    hypermodel = RecipeHyperModel(recipe, adapt=False)
    space = hypermodel.space
    # every registered scheme is searched or skipped with its reason
    assert set(space.schemes) | {key.split("=")[1] for key in space.skipped if key.startswith("sharing=")} == set(
        SHARING_SCHEMES.names())
    assert "hard" in space.schemes and space.depths["hard"] == list(range(space.num_blocks + 1))
    for scheme in space.schemes:
        hp = keras_tuner.HyperParameters()
        hp.Fixed("sharing", scheme)
        model = hypermodel.build(hp)
        assert model.task_names == [task.name for task in recipe.tasks]
        assert all(name == "sharing" or name.startswith(f"{scheme}/") or "/" not in name for name in hp.values)


def test_defaults_rebuild_the_recipe_and_fixed_values_are_honoured(recipes):
    recipe = load_recipe("recipes/multidigits_mmoe.yaml")
    hypermodel = RecipeHyperModel(recipe, adapt=False)
    hp = keras_tuner.HyperParameters()
    defaults = hypermodel.recipe_for(hp)
    assert (defaults.model.sharing, defaults.balancer.name, defaults.training.learning_rate) == ("mmoe", "fixed", 0.002)
    assert defaults.model.sharing_options["num_experts"] == 4 and defaults.model.sharing_options["expert_units"] == [64]
    hp = keras_tuner.HyperParameters()
    hp.Fixed("sharing", "mmoe")
    hp.Fixed("mmoe/num_experts", 3)
    hp.Fixed("balancer", "dwa")
    hp.Fixed("loss_weight_left_digit", 0.25)
    model = hypermodel.build(hp)
    assert model.network.output["left_digit_gate_weights"].shape[-1] == 3  # one gate weight per expert
    trial = hypermodel.recipe_for(hp)
    assert trial.model.sharing_options["num_experts"] == 3
    assert trial.balancer.name == "dwa" and type(model.balancer) is BALANCERS.get("dwa")
    assert trial.tasks[0].loss_weight == 0.25 and model.tasks[0].loss_weight == 0.25
    assert recipe.tasks[0].loss_weight == 1.0  # the original recipe is unchanged


def test_num_experts_only_exists_for_expert_schemes(recipes):
    hypermodel = RecipeHyperModel(recipes["vision_conv"], adapt=False)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("sharing", "hard")
    hypermodel.build(hp)
    assert not any("num_experts" in name for name in hp.values)
    assert set(hypermodel.space.balancers) <= set(BALANCERS.names())


def test_tuning_section_narrows_the_space():
    recipe = load_recipe("recipes/multidigits_hard.yaml", [
        "tuning={space: {sharing: [hard, mmoe], balancer: fixed, shared_depth: {min: 1, max: 2}, learning_rate: 0.003}}"])
    space = RecipeHyperModel(recipe, adapt=False).space
    assert space.schemes == ["hard", "mmoe"] and space.balancers == ["fixed"]
    hp = keras_tuner.HyperParameters()
    settings = space.declare(hp)
    assert hp.values["learning_rate"] == 0.003 and settings.learning_rate == 0.003
    assert 1 <= settings.sharing_options["shared_depth"] <= 2
