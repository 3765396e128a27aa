"""Recipe validation: every problem is one line naming file, field and allowed values."""

from pathlib import Path

import pytest
import yaml

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.discovery import available_recipes
from mtl_zoo.recipes.loading import dump_recipe, load_recipe
from mtl_zoo.recipes.overrides import apply_overrides
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.training.run import build_model_from_recipe

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "multidigits_hard.yaml"


def recipe_document():
    return yaml.safe_load(DEFAULT_RECIPE.read_text())


def write(tmp_path, document):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def error_of(tmp_path, document, overrides=()):
    path = write(tmp_path, document)
    with pytest.raises(RecipeError) as error:
        recipe = load_recipe(path, list(overrides))
        build_model_from_recipe(recipe)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_every_shipped_recipe_validates_and_builds():
    recipes = available_recipes()
    assert "multidigits_hard" in recipes
    for path in recipes.values():
        recipe = load_recipe(path)
        model = build_model_from_recipe(recipe, adapt=False)  # checks every option; reads no data
        assert model.task_names == [task.name for task in recipe.tasks]


def test_defaults_are_filled_in_and_dumped():
    recipe = load_recipe(DEFAULT_RECIPE)
    resolved = yaml.safe_load(dump_recipe(recipe))
    assert resolved["model"]["shared_depth"] == 2
    assert resolved["model"]["trunk_options"]["kernel_size"] == 3
    assert resolved["data"]["test_split"] == "test"
    assert validate_recipe(resolved).model_dump() == recipe.model_dump()


def test_overrides_use_dotted_keys_and_task_names():
    recipe = load_recipe(
        DEFAULT_RECIPE,
        ["training.epochs=2", "model.shared_depth=1", "tasks.right_digit.loss_weight=0.5",
         "model.trunk_options.filters=[8, 16]"],
    )
    assert recipe.training.epochs == 2
    assert recipe.model.sharing_options["shared_depth"] == 1
    assert recipe.tasks[1].loss_weight == 0.5
    assert recipe.model.trunk_options["filters"] == [8, 16]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda d: d["tasks"][0].update(kind="clasification"),
         "tasks[0].kind: unknown task kind 'clasification'; allowed: bbox, binary, classification, dense_regression, multilabel, regression, segmentation, tagging"),
        (lambda d: d["model"].update(sharing="sideways"), "model.sharing: unknown sharing scheme 'sideways'; allowed: "),
        (lambda d: d["training"].pop("epochs"), "training.epochs: required field is missing"),
        (lambda d: d["training"].update(epochs=0), "training.epochs: Input should be greater than or equal to 1. Received: 0"),
        (lambda d: d["training"].update(epoch=3), "training.epoch: unknown field; allowed: epochs, batch_size, optimizer, learning_rate"),
        (lambda d: d["model"].update(num_experts=3), "model.num_experts: unknown field; allowed: shared_depth"),
        (lambda d: d["model"]["trunk_options"].update(filter=[3]),
         "model.trunk_options.filter: unknown field; allowed: filters, kernel_size, dense_units, dropout, batch_norm"),
        (lambda d: d["model"].update(shared_depth=7), "model.shared_depth: shared_depth must be between 0 and 3"),
        (lambda d: d["tasks"][1].update(name="middle_digit"),
         "tasks[1].name: data set 'multi_digits' has no label 'middle_digit'; allowed: left_digit, right_digit"),
        (lambda d: d["tasks"][1].update(classes=12), "tasks[1].classes: label 'right_digit' of 'multi_digits' has 10 classes"),
        (lambda d: d["data"].update(name="cifar"), "data.name: unknown data set 'cifar'; allowed: "),
        (lambda d: d["balancer"].update(name="magic"), "balancer.name: unknown balancer 'magic'; allowed: "),
        (lambda d: d["training"].update(optimizer="adamm"), "training.optimizer: unknown optimizer; allowed:"),
    ],
)
def test_errors_name_file_field_and_allowed_values(tmp_path, edit, expected):
    document = recipe_document()
    edit(document)
    assert expected in error_of(tmp_path, document)


def test_override_errors_mention_the_override(tmp_path):
    message = error_of(tmp_path, recipe_document(), ["model.shared_depth=9"])
    assert "(with --set model.shared_depth=9): model.shared_depth:" in message


def test_override_to_unknown_task_lists_tasks(tmp_path):
    message = error_of(tmp_path, recipe_document(), ["tasks.middle.loss_weight=2"])
    assert "tasks.middle.loss_weight: cannot set it: no item 'middle' (items: left_digit, right_digit)" in message


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntasks: [\n")
    with pytest.raises(RecipeError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_recipe(path)


def test_missing_recipe_lists_known_recipes():
    with pytest.raises(RecipeError, match="no such recipe file; give a YAML path or one of: .*multidigits_hard"):
        load_recipe("nope.yaml")


def test_apply_overrides_parses_values_as_yaml():
    document = apply_overrides({"a": {"b": 1}}, ["a.b=[1, 2]", "a.c=true", "d=0.5"], "x")
    assert document == {"a": {"b": [1, 2], "c": True}, "d": 0.5}


def test_floats_written_with_an_exponent_are_numbers_in_yaml_and_overrides(tmp_path):
    document = recipe_document()
    document["training"]["learning_rate"] = 1e-3
    document["tasks"][0]["loss_weight"] = 5e-1
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(document).replace("0.001", "1e-3").replace("0.5", "5E-1"))
    assert yaml.safe_load(path.read_text())["training"]["learning_rate"] == "1e-3"  # what PyYAML makes of it
    recipe = load_recipe(path)
    assert recipe.training.learning_rate == 0.001 and recipe.tasks[0].loss_weight == 0.5

    recipe = load_recipe(path, ["training.learning_rate=2e-4", "model.trunk_options.dropout=1e-1",
                                "training.task_learning_rates.left_digit=5e-1"])
    assert recipe.training.learning_rate == 2e-4 and recipe.model.trunk_options["dropout"] == 0.1
    assert recipe.training.task_learning_rates == {"left_digit": 0.5}


@pytest.mark.parametrize("value, expected", [
    ("fast", "training.learning_rate: Input should be a valid number. Received: 'fast'"),
    ("'3'", "training.learning_rate: Input should be a valid number. Received: '3'"),
    ("1e999", "training.learning_rate: Input should be a finite number"),
])
def test_float_fields_still_refuse_what_is_no_number(tmp_path, value, expected):
    path = write(tmp_path, recipe_document())
    with pytest.raises(RecipeError) as error:
        load_recipe(path, [f"training.learning_rate={value}"])
    assert expected in str(error.value)
