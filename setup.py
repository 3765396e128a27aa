"""The one build step `pyproject.toml` cannot declare: recipes copied into the package.

The recipes in the top-level `recipes/` folder are the only copy in the
source tree; building the package copies them into `mtl_zoo/bundled_recipes/`
of the build, so a wheel installed outside a clone still finds them by name.
Everything else about the package (metadata, dependencies, entry points) is
in `pyproject.toml`.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithRecipes(build_py):
    """`build_py` that also copies `recipes/*.yaml` into the built package."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "mtl_zoo" / "bundled_recipes"
        target.mkdir(parents=True, exist_ok=True)
        for recipe in sorted((ROOT / "recipes").glob("*.yaml")):
            shutil.copy2(recipe, target / recipe.name)


setup(cmdclass={"build_py": BuildWithRecipes})
