"""Finding recipes by name: `./recipes`, the project's `recipes/` and the package's bundled copies.
"""

from __future__ import annotations

from pathlib import Path

from mtl_zoo.errors import RecipeError


def recipe_directories() -> list[Path]:
    """Folders searched for recipes by name, first match wins.

    `./recipes`, the project's `recipes/` (in a clone), and the copies an
    installed package carries in `mtl_zoo/bundled_recipes/` (made by setup.py).
    """
    package = Path(__file__).resolve().parent.parent
    folders = [Path.cwd() / "recipes", package.parent / "recipes", package / "bundled_recipes"]
    unique = []
    for folder in folders:
        if folder.is_dir() and folder.resolve() not in [f.resolve() for f in unique]:
            unique.append(folder)
    return unique


def available_recipes() -> dict[str, Path]:
    """Recipe name (file stem) -> path, over `recipe_directories()`."""
    found = {}
    for folder in recipe_directories():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def resolve_recipe_path(path) -> Path:
    """Returns the recipe file for a path or a recipe name; raises if none exists."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    known = available_recipes()
    if str(path) in known:
        return known[str(path)]
    raise RecipeError(
        str(path), "", f"no such recipe file; give a YAML path or one of: {', '.join(sorted(known)) or '(none)'}"
    )
