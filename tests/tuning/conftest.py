"""The synthetic recipe of the tuning and grouping tests: two tasks built to agree, one to conflict.

The data and recipe come from `benchmarks/grouping_synthetic.py` (`write_synthetic_recipe`).
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_grouping_script():
    """The `benchmarks/grouping_synthetic.py` module."""
    spec = importlib.util.spec_from_file_location("grouping_synthetic", ROOT / "benchmarks" / "grouping_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic_recipe_path(tmp_path_factory):
    """The synthetic recipe (one shared unit), written once per module."""
    return load_grouping_script().write_synthetic_recipe(tmp_path_factory.mktemp("synthetic"))
