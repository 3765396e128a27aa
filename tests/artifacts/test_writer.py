"""Artifacts you can trust: the round-trip check covers every test row, and reading an artifact is safe.

`train` compares `model.keras` and the SavedModel with the trained model on
every test row; `evaluate`, `export` and `predict` refuse an artifact whose
`model.keras` and `saved_model/` disagree, load `model.keras` in Keras safe
mode, import recorded plugins only when asked, and report a damaged artifact
in one line.
"""

import json
import shutil
import textwrap
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mtl_zoo


@pytest.fixture
def copy(penguins, tmp_path):
    """A fresh copy of the trained artifact, to damage."""
    target = tmp_path / "copy"
    shutil.copytree(penguins[1], target)
    return target


# === The round-trip check at training time ===


@keras.saving.register_keras_serializable(package="mtl_zoo_round_trip_tests")
class ForgetfulClip(keras.layers.Layer):
    """Clips its input at `limit`, but forgets a limit set after construction when saved (a lossy layer)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.limit = 1.0

    def call(self, inputs):
        return keras.ops.minimum(inputs, self.limit)

    def get_config(self):
        return super().get_config()


def _register_forgetful_parts(monkeypatch):
    """Registers the probe's data set and trunk for this test only (the registries are shared by the process)."""
    from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
    from mtl_zoo.registry import DATASETS, TRUNKS
    from mtl_zoo.trunks.base import Trunk

    def load(split, data_dir=None):
        # The last 16 of 64 rows hold values above 1: a first batch of 16 never sees them.
        x = np.concatenate([np.linspace(0.0, 0.9, 48), np.full(16, 5.0)]).astype("float32")[:, None]
        return tf.data.Dataset.from_tensor_slices(({"x": x}, {"y": x[:, 0]}))

    monkeypatch.setitem(DATASETS._entries, "forgetful_probe", DataSource(
        name="forgetful_probe", description="64 rows, 16 of them above 1", inputs={"x": InputSpec((1,))},
        labels={"y": LabelSpec("regression")}, splits=("train", "test"), load=load))

    def stem(tensors):
        clip = ForgetfulClip(name="forgetful_clip")
        clip.limit = 10.0  # the trained model clips at 10; the saved one, at 1
        return clip(tensors["x"])

    monkeypatch.setitem(TRUNKS._entries, "forgetful_trunk", lambda inputs: Trunk(
        blocks=[lambda prefix: keras.layers.Dense(4, name=f"{prefix}_dense")], stem=stem))


def test_train_compares_every_test_row_not_only_the_first_batch(tmp_path, run, monkeypatch):
    _register_forgetful_parts(monkeypatch)
    (tmp_path / "probe.yaml").write_text(textwrap.dedent("""
        name: forgetful_probe
        data: {name: forgetful_probe, validation_split: null}
        tasks: [{name: y, kind: regression}]
        model: {trunk: forgetful_trunk, shared_depth: 1}
        training: {epochs: 1, batch_size: 16}
    """))
    status, _, errors = run(["train", str(tmp_path / "probe.yaml"), "--output", str(tmp_path / "run")])
    assert status == 2 and len(errors) == 1, errors
    assert errors[0].startswith("mtl-zoo: error: Reloaded model outputs differ from the trained model by more than "
                                "1e-05 on the check rows (64 test); nothing was written to ")
    assert not (tmp_path / "run").exists()


def test_the_check_rows_are_every_test_row_or_a_seeded_sample_from_every_split(penguins):
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, round_trip_rows

    folder, artifact, _ = penguins
    metrics = json.loads((artifact / "metrics.json").read_text())
    assert metrics["round_trip_rows"] == {"test": 69}
    assert max(metrics["round_trip_max_abs_difference"].values()) <= 1e-5

    big = folder / "big"
    big.mkdir()
    table = pd.read_csv(folder / "penguins.csv")
    for _ in range(4):
        table = table.sample(frac=2.0, replace=True, random_state=0)
    table.to_csv(big / "penguins.csv", index=False)  # 5,504 rows
    (big / "penguins.yaml").write_text((folder / "penguins.yaml").read_text().replace("test_fraction: 0.2", "test_fraction: 0.4"))
    recipe = load_recipe(big / "penguins.yaml")
    rows, counts = round_trip_rows(recipe)
    assert counts == {"train": 667, "validation": 667, "test": 666}  # 2,202 test rows: more than CHECK_ROWS
    first = [row["bill_length_mm"].numpy() for row in rows]
    again = [row["bill_length_mm"].numpy() for row in round_trip_rows(recipe)[0]]
    assert len(first) == CHECK_ROWS and np.array_equal(first, again, equal_nan=True)


# === Reading an artifact ===


def _shift_a_head(artifact: Path) -> None:
    """Rewrites `model.keras` with the `sex` head's bias moved: it no longer matches `saved_model/`."""
    model = mtl_zoo.load_model(artifact / "model.keras")
    for variable in model.trainable_variables:
        if variable.path == "sex/bias":
            variable.assign(variable.numpy() + 0.5)
    model.save(artifact / "model.keras")


@pytest.mark.parametrize("command", ["evaluate", "export", "predict"])
def test_a_keras_file_that_disagrees_with_the_saved_model_is_refused(penguins, copy, command, tmp_path, run):
    folder, _, _ = penguins
    _shift_a_head(copy)
    extra = {"evaluate": [], "export": ["--output", str(tmp_path / "served")],
             "predict": ["--data", str(folder / "unlabelled.csv")]}[command]
    status, output, errors = run([command, str(copy), *extra])
    assert status == 2 and len(errors) == 1, errors
    assert errors[0].startswith(f"mtl-zoo: error: {copy}: model.keras and saved_model/ disagree by ")
    assert "; the artifact does not hold the model it was trained as: train again." in errors[0]
    assert output == "" and not (tmp_path / "served").exists()


def test_evaluate_checks_the_data_it_reads_when_the_artifact_has_no_stored_rows(penguins, copy, run):
    _shift_a_head(copy)
    (copy / "round_trip_inputs.tfrecord").unlink()
    status, _, errors = run(["evaluate", str(copy)])
    assert status == 2 and len(errors) == 1
    assert "disagree by" in errors[0] and "on the first 2000 rows of the test split" in errors[0]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3])


DAMAGE = {
    "truncated model.keras": (lambda folder: _truncate(folder / "model.keras"),
                              "/model.keras cannot be loaded (ValueError: "),
    "model.keras not a zip": (lambda folder: (folder / "model.keras").write_text("not a model"),
                              "/model.keras cannot be loaded ("),
    "garbage metrics.json": (lambda folder: (folder / "metrics.json").write_text('{"plugins": '),
                             "/metrics.json is missing or not readable JSON (JSONDecodeError: "),
    "metrics.json a list": (lambda folder: (folder / "metrics.json").write_text("[1, 2]"),
                            "/metrics.json holds a JSON list, not the object `mtl-zoo train` writes"),
    "plugins field damaged": (lambda folder: (folder / "metrics.json").write_text('{"plugins": "evil"}'),
                              "/metrics.json: field 'plugins' must be an object with the fields modules and "
                              "entry_points; the file is damaged"),
    "missing saved_model": (lambda folder: shutil.rmtree(folder / "saved_model"),
                            " is an incomplete artifact (missing saved_model/); "),
    "garbage saved_model.pb": (lambda folder: (folder / "saved_model" / "saved_model.pb").write_bytes(b"\x00garbage"),
                               "/saved_model cannot be loaded ("),
    "truncated stored rows": (lambda folder: _truncate(folder / "round_trip_inputs.tfrecord"),
                              "/round_trip_inputs.tfrecord is damaged (DataLossError: "),
    "garbage recipe.yaml": (lambda folder: (folder / "recipe.yaml").write_text("name: [unclosed"),
                            "recipe.yaml"),
}


@pytest.mark.parametrize("command, damage", [
    (command, damage) for command in ("evaluate", "export", "predict") for damage in DAMAGE
    if (command, damage) != ("export", "garbage recipe.yaml")])  # export reads the recipe only without stored rows
def test_a_damaged_artifact_is_one_line_not_a_traceback(penguins, copy, damage, command, tmp_path, run):
    folder, _, _ = penguins
    spoil, message = DAMAGE[damage]
    spoil(copy)
    extra = {"evaluate": [], "export": ["--output", str(tmp_path / "served")],
             "predict": ["--data", str(folder / "unlabelled.csv")]}[command]
    status, _, errors = run([command, str(copy), *extra])
    assert status == 2, errors
    assert len(errors) == 1 and errors[0].startswith("mtl-zoo: error: ") and message in errors[0], errors
    assert not (tmp_path / "served").exists()


def test_an_empty_folder_is_not_an_artifact(tmp_path, run):
    status, _, errors = run(["evaluate", str(tmp_path)])
    assert status == 2
    assert errors == [f"mtl-zoo: error: {tmp_path} is not a trained artifact (missing model.keras, saved_model/, "
                      f"metrics.json, recipe.yaml); give a folder written by `mtl-zoo train`, e.g. "
                      f"saved_models/<recipe name>, or train it again. Received: {str(tmp_path)!r}"]


def test_model_keras_loads_in_safe_mode_so_a_lambda_is_refused(copy, tmp_path, run):
    marker = tmp_path / "ran"
    inputs = keras.Input((1,), name="x")
    side_effect = f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]"
    outputs = keras.layers.Lambda(eval(side_effect), name="species")(inputs)
    keras.Model(inputs, outputs).save(copy / "model.keras")
    marker.unlink()  # building the model ran the lambda once
    with zipfile.ZipFile(copy / "model.keras") as archive:
        assert "__lambda__" in archive.read("config.json").decode()
    with pytest.raises(ValueError, match="deserialization of a `Lambda` layer whose `function` is a Python lambda"):
        mtl_zoo.load_model(copy / "model.keras")
    status, _, errors = run(["evaluate", str(copy)])
    assert status == 2 and len(errors) == 1
    assert errors[0].startswith(f"mtl-zoo: error: {copy / 'model.keras'} cannot be loaded (ValueError: Requested the "
                                "deserialization of a `Lambda` layer whose `function` is a Python lambda.")
    assert not marker.exists()


def test_mtl_zoo_artifacts_load_in_safe_mode(penguins):
    _, artifact, _ = penguins
    with zipfile.ZipFile(artifact / "model.keras") as archive:
        assert "__lambda__" not in archive.read("config.json").decode()
    model = keras.saving.load_model(artifact / "model.keras", safe_mode=True)
    assert model.task_names == ["species", "sex", "flipper_length_mm", "heavy"]


PLUGIN = """
from pathlib import Path
Path(__file__).with_suffix(".imported").write_text("imported")
"""


@pytest.fixture
def recorded_plugin(copy, tmp_path, monkeypatch):
    """`(artifact, marker)`: the artifact's metrics.json names a plugin module that leaves `marker` when imported."""
    name = "plugin_recorded_" + tmp_path.name.replace("-", "_").lower()
    monkeypatch.setattr("mtl_zoo.utils.plugins._LOADED", [])  # what the test imports is not recorded by later runs
    (tmp_path / f"{name}.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["plugins"] = {"modules": [name], "entry_points": []}
    (copy / "metrics.json").write_text(json.dumps(metrics))
    return copy, name, tmp_path / f"{name}.imported"


@pytest.mark.parametrize("command", ["evaluate", "export", "predict"])
def test_recorded_plugins_are_not_imported_unless_asked(penguins, recorded_plugin, command, tmp_path, run):
    folder, _, _ = penguins
    artifact, name, marker = recorded_plugin
    extra = {"evaluate": [], "export": ["--output", str(tmp_path / "served")],
             "predict": ["--data", str(folder / "unlabelled.csv")]}[command]
    status, _, errors = run([command, str(artifact), *extra])
    assert status == 2 and not marker.exists()
    assert errors == [f"mtl-zoo: error: {artifact} was trained with plugin code that is not loaded ({name}); importing "
                      f"it runs that code: if you trust it, pass --import {name} or --trust-plugins. Received: "
                      f"plugins=['{name}']"]


def test_trust_plugins_imports_the_recorded_modules(recorded_plugin, run):
    artifact, _, marker = recorded_plugin
    status, output, errors = run(["evaluate", str(artifact), "--trust-plugins"])
    assert status == 0, errors
    assert marker.exists() and output.startswith("tiny_penguins on the test split:")


def test_import_of_the_recorded_module_is_enough(recorded_plugin, run):
    artifact, name, marker = recorded_plugin
    status, _, errors = run(["--import", name, "evaluate", str(artifact)])
    assert status == 0, errors
    assert marker.exists()
