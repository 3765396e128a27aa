"""The `mtl-zoo` command end to end: the real default recipe trained into a temp dir."""

import io
import json
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from mtl_zoo.cli import main

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "multidigits_hard.yaml"
TEST_EPOCHS = 4


@pytest.fixture(scope="session")
def trained_artifact(tmp_path_factory, multi_digits_data_dir):
    """Trains the default recipe once (fewer epochs) via the CLI; returns (folder, stdout)."""
    folder = tmp_path_factory.mktemp("artifacts") / "multidigits_hard"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main([
            "train", str(RECIPE), "--output", str(folder),
            "--set", f"data.data_dir={multi_digits_data_dir}",
            "--set", f"training.epochs={TEST_EPOCHS}",
        ])
    assert status == 0, buffer.getvalue()
    return folder, buffer.getvalue()


@pytest.mark.slow
def test_default_recipe_reaches_ninety_percent_on_both_tasks(trained_artifact):
    folder, _ = trained_artifact
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"]["left_digit"]["accuracy"] >= 0.90
    assert metrics["test"]["right_digit"]["accuracy"] >= 0.90
    assert metrics["epochs"] == TEST_EPOCHS and metrics["parameters"] > 0
    assert metrics["wall_time_seconds"] > 0


@pytest.mark.slow
def test_train_prints_progress_per_epoch_and_a_final_table(trained_artifact):
    _, output = trained_artifact
    epoch_lines = [line for line in output.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == TEST_EPOCHS
    assert "left_digit: loss" in epoch_lines[0] and "right_digit: loss" in epoch_lines[0]
    assert "accuracy" in epoch_lines[0] and "(val " in epoch_lines[0]
    table = output[output.index("Test metrics"):].splitlines()
    assert table[1].split() == ["task", "loss", "accuracy"]
    assert table[2].startswith("left_digit") and table[3].startswith("right_digit")


@pytest.mark.slow
def test_artifact_files_and_resolved_recipe(trained_artifact):
    folder, _ = trained_artifact
    assert {p.name for p in folder.iterdir()} == {"model.keras", "saved_model", "metrics.json", "recipe.yaml"}
    resolved = yaml.safe_load((folder / "recipe.yaml").read_text())
    assert resolved["training"]["epochs"] == TEST_EPOCHS
    assert resolved["model"]["shared_depth"] == 2
    assert resolved["model"]["trunk_options"]["kernel_size"] == 3


@pytest.mark.slow
def test_keras_and_saved_model_round_trips_match(trained_artifact):
    folder, _ = trained_artifact
    images = np.random.default_rng(0).random((8, 12, 20, 1), dtype="float32")
    model = keras.models.load_model(folder / "model.keras")
    expected = model.predict({"image": images}, verbose=0)
    again = keras.models.load_model(folder / "model.keras").predict({"image": images}, verbose=0)
    served = tf.saved_model.load(str(folder / "saved_model"))
    assert set(served.signatures) == {"serving_default", "left_digit", "right_digit"}
    outputs = served.signatures["serving_default"](image=tf.constant(images))
    for task in ("left_digit", "right_digit"):
        assert np.max(np.abs(again[task] - expected[task])) <= 1e-5
        assert np.max(np.abs(outputs[task].numpy() - expected[task])) <= 1e-5
        single = served.signatures[task](image=tf.constant(images))
        assert list(single) == [task]
        assert np.max(np.abs(single[task].numpy() - expected[task])) <= 1e-5


@pytest.mark.slow
def test_saved_model_loads_without_mtl_zoo(trained_artifact):
    folder, _ = trained_artifact
    script = textwrap.dedent(f"""
        import sys
        import numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(folder / "saved_model")!r})
        out = served.signatures["left_digit"](image=tf.zeros((2, 12, 20, 1)))
        assert "mtl_zoo" not in sys.modules
        print(out["left_digit"].shape, float(tf.reduce_sum(out["left_digit"])))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    shape, total = result.stdout.split(")")[0] + ")", result.stdout.split(")")[1]
    assert shape == "(2, 10)" and float(total) == pytest.approx(2.0, abs=1e-4)


@pytest.mark.slow
def test_second_run_does_not_overwrite_a_finished_artifact(trained_artifact, capsys):
    folder, _ = trained_artifact
    before = (folder / "metrics.json").read_text()
    status = main(["train", str(RECIPE), "--output", str(folder), "--set", "training.epochs=1"])
    assert status == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"mtl-zoo: error: {folder} already holds a finished artifact; pass --overwrite to replace it "
        f"or --output DIR to write elsewhere. Received: output={str(folder)!r}"
    )
    assert (folder / "metrics.json").read_text() == before


@pytest.mark.slow
def test_evaluate_reproduces_the_test_metrics(trained_artifact, multi_digits_data_dir, tmp_path, capsys):
    folder, _ = trained_artifact
    status = main(["evaluate", str(folder), "--data-dir", str(multi_digits_data_dir), "--output", str(tmp_path)])
    assert status == 0
    assert "left_digit" in capsys.readouterr().out
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    trained = json.loads((folder / "metrics.json").read_text())["test"]
    for task, values in trained.items():
        for name, value in values.items():
            assert evaluation["metrics"][task][name] == pytest.approx(value, abs=1e-4)


@pytest.mark.slow
def test_export_writes_elsewhere_and_refuses_to_overwrite(trained_artifact, tmp_path, capsys):
    folder, _ = trained_artifact
    assert main(["export", str(folder), "--output", str(tmp_path)]) == 0
    assert (tmp_path / "saved_model" / "saved_model.pb").exists()
    assert main(["export", str(folder), "--output", str(tmp_path)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert main(["export", str(folder), "--output", str(tmp_path), "--overwrite"]) == 0


def test_recipe_error_is_one_line_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mtl_zoo.cli", "train", str(RECIPE), "--output", str(tmp_path / "out"),
         "--set", "model.shared_depth=7"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("mtl-zoo")]
    assert lines == [
        f"mtl-zoo: error: {RECIPE} (with --set model.shared_depth=7): model.shared_depth: shared_depth "
        "must be between 0 and 3 (the trunk has 3 blocks). Received: shared_depth=7"
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_evaluate_of_a_folder_that_is_not_an_artifact(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a trained artifact (missing model.keras, recipe.yaml)" in capsys.readouterr().err


def test_list_json_prints_every_registry(capsys):
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"task_kinds", "trunks", "sharing", "balancers", "datasets", "recipes"}
    assert "hard" in listing["sharing"] and "multidigits_hard" in listing["recipes"]
    assert all(isinstance(text, str) and text for text in listing["sharing"].values())


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["export"], ["list"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command + ["--help"])
    assert exit_info.value.code == 0
    assert "usage: mtl-zoo" in capsys.readouterr().out
