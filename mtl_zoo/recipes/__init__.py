"""Recipes: YAML files that say what to train, validated before anything runs.

`schema.py` holds the pydantic models of every field; `overrides.py` the
`--set key=value` parser; `validation.py` the checks that introspect the named
builders, read the data and build the cheap parts; `loading.py` reads a file
through all of them (`load_recipe`); `discovery.py` finds recipes by name.

Example:

>>> from mtl_zoo.recipes import load_recipe
>>> recipe = load_recipe("recipes/multidigits_hard.yaml", ["training.epochs=2"])
>>> recipe.training.epochs
2
"""

from mtl_zoo.recipes.schema import Recipe
from mtl_zoo.recipes.overrides import apply_overrides
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.recipes.discovery import available_recipes, resolve_recipe_path
from mtl_zoo.recipes.loading import dump_recipe, load_recipe, parse_recipe

__all__ = ["Recipe", "apply_overrides", "available_recipes", "dump_recipe", "load_recipe", "parse_recipe",
           "resolve_recipe_path", "validate_recipe"]
