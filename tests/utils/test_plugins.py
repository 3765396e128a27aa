"""Plugins: `--import` and the `mtl_zoo.plugins` entry points register components the command line can use."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mtl_zoo.cli import main
from mtl_zoo.errors import PluginError
from mtl_zoo.utils.plugins import import_recorded_plugins

PLUGIN = textwrap.dedent('''
    """A tiny dense trunk and a tiny data set of random images."""
    import keras
    import numpy as np
    import tensorflow as tf

    from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
    from mtl_zoo.registry import DATASETS, TRUNKS
    from mtl_zoo.trunks.base import Trunk


    @TRUNKS.register("plugin_dense")
    def plugin_dense(inputs, units: int = 8):
        """Flattens the image, then one dense block."""
        return Trunk(
            blocks=[lambda prefix: keras.layers.Dense(units, activation="relu", name=f"{prefix}_dense")],
            stem=lambda tensors: keras.layers.Flatten(name="flatten")(tensors["image"]),
        )


    def load(split, data_dir=None):
        images = np.random.default_rng({"train": 0, "test": 1}[split]).random((48, 4, 4, 1), dtype="float32")
        return tf.data.Dataset.from_tensor_slices(({"image": images}, {"bright": images[:, 0, 0, 0].round()}))


    DATASETS.register("plugin_flags", DataSource(
        name="plugin_flags", description="Random 4x4 images; bright = first pixel above 0.5.",
        inputs={"image": InputSpec((4, 4, 1))}, labels={"bright": LabelSpec("binary")},
        splits=("train", "test"), load=load))
''')
ENTRY_POINT_PLUGIN = textwrap.dedent('''
    from mtl_zoo.balancers.fixed import FixedWeights
    from mtl_zoo.registry import BALANCERS

    BALANCERS.register("plugin_fixed", FixedWeights)
''')
RECIPE = """
name: plugin_flags
data: {name: plugin_flags, validation_split: null}
tasks: [{name: bright, kind: binary}]
model: {trunk: plugin_dense, trunk_options: {units: 4}}
training: {epochs: 1, batch_size: 16}
"""


@pytest.fixture(scope="module")
def plugin_folders(tmp_path_factory):
    """`(module folder, distribution folder)`: a plugin module, and an installed entry point of the group."""
    modules = tmp_path_factory.mktemp("plugin_modules")
    (modules / "zoo_plugin_under_test.py").write_text(PLUGIN)
    (modules / "plugin_flags.yaml").write_text(RECIPE)
    distributions = tmp_path_factory.mktemp("plugin_distributions")
    (distributions / "entry_point_plugin_under_test.py").write_text(ENTRY_POINT_PLUGIN)
    info = distributions / "zoo_extras-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-extras\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[mtl_zoo.plugins]\nextras = entry_point_plugin_under_test\n")
    return modules, distributions


def run_cli(arguments, python_path, cwd):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, python_path))}
    return subprocess.run([sys.executable, "-m", "mtl_zoo.cli", *arguments], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=600)


def test_list_shows_what_each_plugin_registered(plugin_folders, tmp_path):
    modules, distributions = plugin_folders
    result = run_cli(["--import", "zoo_plugin_under_test", "list", "--json"], [modules, distributions], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    listing = json.loads(result.stdout)
    assert listing["trunks"]["plugin_dense"] == ("Flattens the image, then one dense block. "
                                                 "[plugin zoo_plugin_under_test]")
    assert listing["datasets"]["plugin_flags"].endswith("[plugin zoo_plugin_under_test]")
    assert listing["balancers"]["plugin_fixed"].endswith("[plugin entry point extras]")
    assert "[plugin" not in listing["trunks"]["vision_conv"]


@pytest.mark.slow
def test_a_plugin_recipe_trains_and_evaluate_imports_the_plugin_again(plugin_folders, tmp_path, capsys):
    modules, _ = plugin_folders
    artifact = tmp_path / "artifact"
    trained = run_cli(["--import", "zoo_plugin_under_test", "train", str(modules / "plugin_flags.yaml"),
                       "--output", str(artifact)], [modules], tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    record = json.loads((artifact / "metrics.json").read_text())["plugins"]
    assert record == {"modules": ["zoo_plugin_under_test"], "entry_points": []}

    refused = run_cli(["evaluate", str(artifact)], [modules], tmp_path)  # importing runs code: only when asked
    assert refused.returncode == 2
    assert refused.stderr == (f"mtl-zoo: error: {artifact} was trained with plugin code that is not loaded "
                              "(zoo_plugin_under_test); importing it runs that code: if you trust it, pass --import "
                              "zoo_plugin_under_test or --trust-plugins. Received: plugins=['zoo_plugin_under_test']\n")
    evaluated = run_cli(["evaluate", str(artifact), "--trust-plugins"], [modules], tmp_path)  # the artifact names it
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert evaluated.stdout.splitlines()[0] == "plugin_flags on the test split:"

    capsys.readouterr()
    for command in (["evaluate", str(artifact), "--trust-plugins"],
                    ["export", str(artifact), "--output", str(tmp_path / "served"), "--trust-plugins"]):
        assert main(command) == 2  # this process cannot import the plugin
        error = capsys.readouterr().err
        assert error == (f"mtl-zoo: error: {artifact} needs plugin module 'zoo_plugin_under_test': the import "
                         "failed: ModuleNotFoundError: No module named 'zoo_plugin_under_test'. Install it or put "
                         "the folder that holds it on PYTHONPATH.\n")
    assert not (tmp_path / "served").exists()


def test_the_current_folder_is_searched_for_import(plugin_folders, tmp_path):
    modules, _ = plugin_folders
    runner = tmp_path / "run_mtl_zoo.py"  # like the mtl-zoo script: the current folder is not on sys.path
    runner.write_text("import sys\nfrom mtl_zoo.cli import main\nsys.exit(main())\n")
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run([sys.executable, str(runner), "--import", "zoo_plugin_under_test", "list"],
                            capture_output=True, text=True, cwd=modules, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "plugin_flags" in result.stdout


@pytest.mark.parametrize("source, message", [
    (None, "ModuleNotFoundError: No module named 'plugin_that_is_not_there'. Install it or put the folder"),
    ("raise RuntimeError('no GPU found')\n", "RuntimeError: no GPU found."),
    ("from mtl_zoo.registry import SHARING_SCHEMES\nSHARING_SCHEMES.register('hard', object())\n",
     "RegistryError: A sharing scheme named 'hard' is already registered; choose another name."),
])
def test_a_module_that_fails_to_import_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, source, message):
    name = "plugin_that_is_not_there"
    if source is not None:
        name = "plugin_that_fails_" + str(abs(hash(source)))
        (tmp_path / f"{name}.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["--import", name, "list"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"mtl-zoo: error: --import {name}: the import failed: ") and message in error
    assert error.count("\n") == 1


def test_a_file_path_is_refused_with_the_form_to_use(capsys):
    assert main(["--import", "plugins/my_zoo.py", "list"]) == 2
    assert "--import takes a dotted module name such as my_package.my_zoo, not a file" in capsys.readouterr().err


def test_a_broken_entry_point_names_itself_and_its_distribution(monkeypatch, capsys):
    import importlib.metadata

    broken = importlib.metadata.EntryPoint("shiny", "shiny_zoo_that_is_gone:register", "mtl_zoo.plugins")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [broken] if group == "mtl_zoo.plugins" else [])
    assert main(["list"]) == 2
    error = capsys.readouterr().err
    assert error == ("mtl-zoo: error: Plugin entry point 'shiny = shiny_zoo_that_is_gone:register' (group "
                     "mtl_zoo.plugins) failed to load: ModuleNotFoundError: No module named "
                     "'shiny_zoo_that_is_gone'. Reinstall or uninstall the distribution that declares it.\n")


def test_a_recorded_entry_point_that_is_gone_names_the_artifact():
    record = {"modules": [], "entry_points": [{"name": "extras", "value": "zoo_extras_gone"}]}
    with pytest.raises(PluginError, match=r"^saved_models/run needs plugin entry point 'extras = zoo_extras_gone'"):
        import_recorded_plugins(record, needed_by="saved_models/run")


def test_help_still_answers_without_importing_tensorflow():
    script = textwrap.dedent("""
        import contextlib, io, sys
        import mtl_zoo.cli
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                mtl_zoo.cli.main(["--import", "zoo_plugin_under_test", "--help"])
            except SystemExit as exit:
                assert exit.code == 0
        assert "--import MODULE" in out.getvalue()
        assert "tensorflow" not in sys.modules and "zoo_plugin_under_test" not in sys.modules
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-3000:]
