"""The built wheel: recipes ship inside it, found by name outside a clone; unused dependencies stay out."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import mtl_zoo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """`(wheel, recipe file names)`: a wheel built offline (no build isolation) from a copy of the sources."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("mtl_zoo", "recipes"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "bundled_recipes"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(folder)],
        capture_output=True, text=True, cwd=folder,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = folder.glob("mtl_zoo-*.whl")
    return built, sorted(path.name for path in (source / "recipes").glob("*.yaml"))


@pytest.mark.slow
def test_wheel_carries_every_recipe_and_the_declared_dependencies(wheel):
    wheel, recipes = wheel
    assert "multidigits_hard.yaml" in recipes
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        requirements = [line.split(":", 1)[1].strip() for line in archive.read(metadata).decode().splitlines()
                        if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert sorted(name.split("/")[-1] for name in names if name.startswith("mtl_zoo/bundled_recipes/")) == recipes
    assert wheel.name.startswith(f"mtl_zoo-{mtl_zoo.__version__}-")
    requirement_names = {requirement.split(">")[0].split("=")[0].split("[")[0].strip() for requirement in requirements}
    assert {"matplotlib", "tensorboard", "tensorflow", "keras", "keras-hub", "keras-tuner", "scipy"} <= requirement_names


@pytest.mark.slow
def test_installed_wheel_lists_and_loads_recipes_by_name_outside_a_clone(wheel, tmp_path):
    wheel, recipes = wheel
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    script = textwrap.dedent("""
        import contextlib, io, json
        import mtl_zoo
        from mtl_zoo.cli import main
        from mtl_zoo.recipes.loading import load_recipe
        listing = io.StringIO()
        with contextlib.redirect_stdout(listing):
            assert main(["list", "--json"]) == 0
        recipe = load_recipe("multidigits_hard")
        print(json.dumps({"package": mtl_zoo.__file__, "recipes": json.loads(listing.getvalue())["recipes"],
                          "name": recipe.name, "source": recipe.source}))
    """)
    work = tmp_path / "elsewhere"
    work.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=work,
                            env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["package"].startswith(str(site))
    assert report["name"] == "multidigits_hard"
    bundled = str(site / "mtl_zoo" / "bundled_recipes")
    assert report["source"] == f"{bundled}/multidigits_hard.yaml"
    assert sorted(f"{name}.yaml" for name in report["recipes"]) == recipes
    assert all(path.startswith(bundled) for path in report["recipes"].values())
