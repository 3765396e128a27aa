"""Values that used to pass validation and fail later are refused by `mtl-zoo train` up front.

Every row is run in-process through `mtl_zoo.cli.main(["train", ...])` with
`train_recipe` replaced by a function that fails the test, so a row passes
only if it is refused before any data is loaded or any training starts: exit
status 2, exactly one line on stderr naming the field, no traceback, and no
output folder.
"""

from pathlib import Path

import pytest
import yaml

from mtl_zoo import cli
from mtl_zoo.cli import parser as cli_parser

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "multidigits_hard.yaml"

# (row id, --set overrides, field the error must name)
REJECTED = [
    ("unknown_loss", ["tasks.left_digit.loss=nonsense_loss"], "tasks[0].loss"),
    ("loss_for_another_kind_mse", ["tasks.left_digit.loss=mean_squared_error"], "tasks[0].loss"),
    ("loss_for_another_kind_bce", ["tasks.left_digit.loss=binary_crossentropy"], "tasks[0].loss"),
    ("loss_one_hot_labels", ["tasks.right_digit.loss=categorical_crossentropy"], "tasks[1].loss"),
    ("empty_loss", ["tasks.left_digit.loss=''"], "tasks[0].loss"),
    ("unknown_metric", ["tasks.left_digit.metrics=[accuracy, nonsense_metric]"], "tasks[0].metrics"),
    ("auc_on_ten_classes", ["tasks.left_digit.metrics=[auc]"], "tasks[0].metrics"),
    ("precision_on_ten_classes", ["tasks.right_digit.metrics=[precision]"], "tasks[1].metrics"),
    ("mae_on_class_indices", ["tasks.left_digit.metrics=[mae]"], "tasks[0].metrics"),
    ("one_hot_metric_on_class_indices", ["tasks.left_digit.metrics=[categorical_accuracy]"], "tasks[0].metrics"),
    ("zero_head_units", ["tasks.left_digit.head_units=[0]"], "tasks[0].head_units"),
    ("negative_head_units", ["tasks.left_digit.head_units=[16, -4]"], "tasks[0].head_units"),
    ("boolean_head_units", ["tasks.left_digit.head_units=[true]"], "tasks[0].head_units"),
    ("standardize_target_not_a_boolean", ["tasks.left_digit.standardize_target=maybe"], "tasks[0].standardize_target"),
    ("standardize_target_as_a_number", ["tasks.left_digit.standardize_target=1"], "tasks[0].standardize_target"),
    ("standardize_target_on_classification", ["tasks.left_digit.standardize_target=true"],
     "tasks[0].standardize_target"),
    ("zero_kernel_size", ["model.trunk_options.kernel_size=0"], "model.trunk_options.kernel_size"),
    ("negative_kernel_size", ["model.trunk_options.kernel_size=-3"], "model.trunk_options.kernel_size"),
    ("boolean_kernel_size", ["model.trunk_options.kernel_size=true"], "model.trunk_options.kernel_size"),
    ("zero_batch_size", ["training.batch_size=0"], "training.batch_size"),
    ("boolean_batch_size", ["training.batch_size=true"], "training.batch_size"),
    ("boolean_epochs", ["training.epochs=true"], "training.epochs"),
    ("boolean_shared_depth", ["model.shared_depth=false"], "model.shared_depth"),
    ("shared_depth_out_of_range", ["model.shared_depth=7"], "model.shared_depth"),
    ("boolean_classes", ["tasks.left_digit.classes=true"], "tasks[0].classes"),
    ("negative_seed", ["seed=-1"], "seed"),
    ("seed_too_large", ["seed=4294967296"], "seed"),
    ("boolean_seed", ["seed=true"], "seed"),
    ("infinite_learning_rate", ["training.learning_rate=.inf"], "training.learning_rate"),
    ("nan_learning_rate", ["training.learning_rate=.nan"], "training.learning_rate"),
    ("negative_learning_rate", ["training.learning_rate=-0.1"], "training.learning_rate"),
    ("infinite_loss_weight", ["tasks.left_digit.loss_weight=.inf"], "tasks[0].loss_weight"),
    ("nan_loss_weight", ["tasks.left_digit.loss_weight=.nan"], "tasks[0].loss_weight"),
    ("negative_loss_weight", ["tasks.left_digit.loss_weight=-1"], "tasks[0].loss_weight"),
    ("balancer_weight_for_unknown_task", ["balancer.weights={middle_digit: 1.0}"], "balancer.weights"),
    ("negative_balancer_weight", ["balancer.weights={left_digit: -1.0}"], "balancer.weights"),
    ("infinite_balancer_weight", ["balancer.weights={left_digit: .inf}"], "balancer.weights"),
    ("task_named_like_the_input", ["tasks.left_digit.name=image", "tasks.image.label=left_digit"], "tasks[0].name"),
    ("task_learning_rate_for_unknown_task", ["training.task_learning_rates={middle_digit: 2.0}"],
     "training.task_learning_rates"),
    ("negative_task_learning_rate", ["training.task_learning_rates={left_digit: -1.0}"],
     "training.task_learning_rates.left_digit"),
    ("boolean_task_learning_rate", ["training.task_learning_rates={left_digit: true}"],
     "training.task_learning_rates.left_digit"),
    ("numeric_adaptive_task_learning_rates", ["training.adaptive_task_learning_rates=1"],
     "training.adaptive_task_learning_rates"),
    ("gradient_conflicts_every_zero_steps", ["training.gradient_conflicts={every_n_steps: 0}"],
     "training.gradient_conflicts.every_n_steps"),
    ("gradient_conflicts_unknown_field", ["training.gradient_conflicts={every_steps: 5}"],
     "training.gradient_conflicts"),
    ("rep_grad_on_graddrop", ["balancer.name=graddrop", "balancer.rep_grad=true"], "balancer.rep_grad"),
    ("numeric_rep_grad", ["balancer.name=mgda", "balancer.rep_grad=1"], "balancer.rep_grad"),
    ("rep_grad_without_a_shared_representation",
     ["balancer.name=mgda", "balancer.rep_grad=true", "model.shared_depth=0"], "model"),
    ("task_named_serving_default",
     ["tasks.left_digit.name=serving_default", "tasks.serving_default.label=left_digit"], "tasks[0].name"),
    ("early_stopping_on_an_unlogged_metric", ["training.early_stopping={patience: 2, monitor: val_left_digit_auc}"],
     "training.early_stopping.monitor"),
    ("early_stopping_on_a_training_log", ["training.early_stopping={patience: 2, monitor: loss}"],
     "training.early_stopping.monitor"),
    ("early_stopping_negative_patience", ["training.early_stopping={patience: -1}"],
     "training.early_stopping.patience"),
    ("early_stopping_held_out_rows_beside_a_validation_split",
     ["training.early_stopping={patience: 2, validation_fraction: 0.2}"],
     "training.early_stopping.validation_fraction"),
    ("early_stopping_on_the_score_of_a_bad_objective",
     ["training.early_stopping={patience: 2}", "tuning={objective: {metrics: {middle_digit: accuracy}}}"],
     "tuning.objective.metrics"),
    ("early_stopping_held_out_fraction_of_one", ["data.validation_split=null",
     "training.early_stopping={patience: 2, validation_fraction: 1.0}"], "training.early_stopping.validation_fraction"),
]


@pytest.fixture
def no_training(monkeypatch):
    """Makes loading any data set split or reaching `train_recipe` fail the test."""
    from mtl_zoo.data.source import DataSource

    def reached(what):
        def fail(*arguments, **keywords):
            raise AssertionError(f"the recipe reached {what} instead of being refused")

        return fail

    monkeypatch.setattr(DataSource, "load_split", reached("data loading"))
    monkeypatch.setattr("mtl_zoo.cli.train.prepare_data", reached("data preparation"))
    monkeypatch.setattr("mtl_zoo.training.run.train_recipe", reached("train_recipe"))


def run_train(capsys, *arguments):
    status = cli.main(["train", str(RECIPE), *arguments])
    return status, capsys.readouterr().err


def assert_one_line_error(status, stderr, *expected):
    assert status == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mtl-zoo: error: ")
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("overrides, field", [pytest.param(o, f, id=i) for i, o, f in REJECTED])
def test_train_refuses_the_value_before_training(tmp_path, capsys, no_training, overrides, field):
    output = tmp_path / "out"
    sets = [argument for item in overrides for argument in ("--set", item)]
    status, stderr = run_train(capsys, "--output", str(output), *sets)
    assert_one_line_error(status, stderr, f"{RECIPE}", f": {field}")
    assert "Received" in stderr or "allowed" in stderr
    assert not output.exists()


# A recipe over a CSV file the test writes (see `file_recipe`).
PENGUINS = {
    "island": ["Biscoe", "Dream", "Torgersen", "Biscoe", "Dream", "Biscoe", "Dream", "Biscoe", "Dream"],
    "bill": [39.1, 39.5, 40.3, 36.7, 39.3, 38.9, 39.2, 34.1, 42.0],
    "species": ["Adelie", "Gentoo", "Chinstrap", "Adelie", "Gentoo", "Chinstrap", "Adelie", "Gentoo", "Adelie"],
    "sex": [1, 0, "", 1, 0, 1, 0, "", 1],
    "mass": [3750, 3800, 3250, 3450, 3650, 3625, 4675, 3475, 4250],
    "split": ["train"] * 5 + ["validation"] * 2 + ["test"] * 2,
}
FILE_RECIPE = {
    "name": "penguins",
    "data": {"file": "penguins.csv", "split_column": "split", "columns": {"island": "categorical", "bill": "numeric"}},
    "tasks": [{"name": "species", "kind": "classification", "classes": 3}, {"name": "sex", "kind": "binary"},
              {"name": "mass", "kind": "regression"}],
    "model": {"trunk": "features", "trunk_options": {"units": [4]}},
    "training": {"epochs": 1, "batch_size": 4},
}

# (row id, cells to change {column: {row: value}}, --set overrides, texts the error must hold)
FILE_REJECTED = [
    ("missing_feature_column", {}, ["data.columns.flipper=numeric"],
     ["penguins.csv: no column 'flipper' (data.columns.flipper); its columns: island, bill, species"]),
    ("missing_label_column", {}, ["tasks.sex.label=gender"],
     ["penguins.csv: no column 'gender' for the labels of task 'sex' (tasks[1].label)"]),
    ("binary_label_three", {"sex": {0: 3}}, [], ["penguins.csv: column 'sex' (tasks[1].name): data row 1 holds 3"]),
    ("regression_label_text", {"mass": {1: "heavy"}}, [],
     ["penguins.csv: column 'mass' (tasks[2].name): data row 2 holds 'heavy', not a number"]),
    ("more_classes_than_the_task", {}, ["tasks.species.classes=2"],
     ["penguins.csv: column 'species' (tasks[0].name): 3 classes", "set the task's classes to 3"]),
    ("class_not_in_training", {"species": {8: "Emperor"}}, [],
     ["penguins.csv: column 'species' (tasks[0].name): data row 9 holds 'Emperor'"]),
    ("text_in_numeric_feature", {"bill": {2: "long"}}, [],
     ["penguins.csv: column 'bill' (data.columns.bill): data row 3 holds 'long', not a number"]),
    ("empty_split", {}, ["data.split_column=null", "data.validation_fraction=0.3", "data.test_fraction=0.01"],
     ["penguins.csv: the test split has no rows (data.test_fraction=0.01 of 9 rows)"]),
    ("missing_file", {}, ["data.file=no_such_penguins.csv"], ["no_such_penguins.csv: no such file"]),
    ("unknown_split_name", {}, ["data.validation_split=valid"],
     ["penguins.csv: column 'split' (data.split_column) names no rows of split 'valid' (data.validation_split)"]),
    ("name_and_file", {}, ["data.name=multi_digits"], [": data: give exactly one of name", "Received: name, file"]),
    ("unknown_column_type", {}, ["data.columns.bill=number"], [": data.columns.bill: Input should be 'numeric'"]),
]


@pytest.fixture
def file_recipe(tmp_path):
    """Writes the penguins CSV (with `changes`) and its recipe; returns the recipe path."""
    import pandas as pd

    def write(changes):
        frame = pd.DataFrame(PENGUINS).astype(object)
        for column, cells in changes.items():
            for row, value in cells.items():
                frame.loc[row, column] = value
        frame.to_csv(tmp_path / "penguins.csv", index=False)
        (tmp_path / "penguins.yaml").write_text(yaml.safe_dump(FILE_RECIPE))
        return tmp_path / "penguins.yaml"

    return write


@pytest.mark.parametrize("changes, overrides, expected", [pytest.param(*row[1:], id=row[0]) for row in FILE_REJECTED])
def test_train_refuses_bad_data_files_before_training(tmp_path, capsys, no_training, file_recipe, changes, overrides,
                                                      expected):
    recipe = file_recipe(changes)
    output = tmp_path / "out"
    sets = [argument for item in overrides for argument in ("--set", item)]
    status = cli.main(["train", str(recipe), "--output", str(output), *sets])
    assert_one_line_error(status, capsys.readouterr().err, *expected)
    assert not output.exists()


def test_every_unknown_field_is_listed(tmp_path, capsys, no_training):
    document = yaml.safe_load(RECIPE.read_text())
    document["training"]["epoch"] = 3
    document["model"]["trunk_options"]["filter"] = [8]
    document["model"]["num_experts"] = 2
    document["tasks"][1]["weight"] = 2.0
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(document))
    status = cli.main(["train", str(recipe), "--output", str(tmp_path / "out")])
    stderr = capsys.readouterr().err
    assert_one_line_error(status, stderr, "training.epoch: unknown field", "model.trunk_options.filter: unknown field",
                          "model.num_experts: unknown field", "tasks[1].weight: unknown field")
    assert not (tmp_path / "out").exists()


def test_output_that_is_a_file_is_refused(tmp_path, capsys, no_training):
    output = tmp_path / "not_a_folder"
    output.write_text("keep me\n")
    status, stderr = run_train(capsys, "--output", str(output))
    assert_one_line_error(status, stderr, "--output", str(output))
    assert output.read_text() == "keep me\n"


def test_output_inside_a_file_is_refused(tmp_path, capsys, no_training):
    parent = tmp_path / "not_a_folder"
    parent.write_text("keep me\n")
    status, stderr = run_train(capsys, "--output", str(parent / "out"))
    assert_one_line_error(status, stderr, "--output", str(parent))
    assert parent.read_text() == "keep me\n"


@pytest.fixture
def fake_artifact(tmp_path):
    """A folder that looks like an artifact (resolved recipe, placeholder model, SavedModel and metrics files)."""
    from mtl_zoo.recipes.loading import dump_recipe, load_recipe

    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / "recipe.yaml").write_text(dump_recipe(load_recipe(RECIPE)))
    (folder / "model.keras").write_text("not a model; the command must stop before loading it\n")
    (folder / "saved_model").mkdir()
    (folder / "saved_model" / "saved_model.pb").write_text("not a SavedModel either\n")
    (folder / "metrics.json").write_text("{}\n")
    return folder


def test_evaluate_refuses_an_unknown_split(fake_artifact, capsys, no_training):
    status = cli.main(["evaluate", str(fake_artifact), "--split", "tset"])
    assert_one_line_error(status, capsys.readouterr().err, "--split", "train, validation, test", "'tset'")


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_evaluate_and_export_refuse_an_output_file(fake_artifact, tmp_path, capsys, no_training, command):
    output = tmp_path / "not_a_folder"
    output.write_text("keep me\n")
    status = cli.main([command, str(fake_artifact), "--output", str(output)])
    assert_one_line_error(status, capsys.readouterr().err, "--output", str(output))
    assert output.read_text() == "keep me\n"


def test_interrupt_during_start_up_is_one_line(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_parser, "build_parser", interrupted)
    try:
        status = cli.main(["list"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped mtl_zoo.cli.main")
    stderr = capsys.readouterr().err
    assert status == 130
    assert stderr.splitlines() == ["mtl-zoo: interrupted; no artifact was written or replaced."]
