"""Reading recipe files: YAML, overrides, data paths relative to the recipe, validation.

Example:

>>> from mtl_zoo.recipes.loading import load_recipe
>>> recipe = load_recipe("recipes/multidigits_hard.yaml", ["training.epochs=2"])
>>> recipe.training.epochs
2
"""

from __future__ import annotations

from pathlib import Path

import pydantic
import yaml

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.discovery import resolve_recipe_path
from mtl_zoo.recipes.overrides import apply_overrides
from mtl_zoo.recipes.schema import Recipe
from mtl_zoo.recipes.validation import _problems, _raise_problems, validate_recipe


def load_recipe(path, overrides=()) -> Recipe:
    """Reads, overrides and validates the recipe at `path`.

    Args:
        path: str or Path. A YAML file, or the name of a recipe in `recipes/`.
        overrides: list of str. `key=value` items (see `apply_overrides`).

    Returns:
        A validated `Recipe`.
    """
    path = resolve_recipe_path(path)
    source = str(path) + (f" (with --set {' --set '.join(overrides)})" if overrides else "")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise RecipeError(str(path), where, f"not valid YAML: {getattr(error, 'problem', error)}") from None
    if isinstance(document, dict):
        resolve_data_paths(document, path.parent)
        apply_overrides(document, overrides, source)
    return validate_recipe(document, source)


def parse_recipe(path) -> Recipe:
    """Reads a recipe's fields without the checks that read its data or build its parts.

    For a recipe that was validated before, such as an artifact's
    `recipe.yaml`, whose data files may since have moved: only the field
    types and layouts are checked.

    Args:
        path: str or Path. A recipe YAML file.

    Returns:
        A `Recipe`.

    Example:

    >>> parse_recipe("recipes/multidigits_hard.yaml").data.name
    'multi_digits'
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RecipeError(str(path), "", f"cannot be read: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict):
        raise RecipeError(str(path), "", f"a recipe is a YAML mapping. Received: {type(document).__name__}")
    try:
        recipe = Recipe.model_validate(document)
    except pydantic.ValidationError as error:
        _raise_problems(str(path), _problems(error, Recipe))
    recipe._source = str(path)
    return recipe


def resolve_data_paths(document: dict, folder) -> dict:
    """Makes the relative paths of `data.file` and `data.files` start at `folder` (in place).

    Args:
        document: dict. A recipe as read from YAML.
        folder: str or Path. The recipe file's folder.

    Example:

    >>> resolve_data_paths({"data": {"file": "penguins.csv"}}, "/recipes")
    {'data': {'file': '/recipes/penguins.csv'}}
    """
    data = document.get("data")
    if not isinstance(data, dict):
        return document

    def resolved(path):
        if not isinstance(path, str) or not path or Path(path).expanduser().is_absolute():
            return path
        return str(Path(folder) / path)

    if "file" in data:
        data["file"] = resolved(data["file"])
    if isinstance(data.get("files"), dict):
        data["files"] = {split: resolved(path) for split, path in data["files"].items()}
    return document


def dump_recipe(recipe: Recipe) -> str:
    """The fully resolved recipe as YAML text."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False)
