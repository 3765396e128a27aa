"""Task tree: closed-form sizes, group-owned layer names, who uses which variables, tree validation."""

import json
from pathlib import Path

import pytest
import yaml

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.cli import main
from mtl_zoo.errors import OptionError, RecipeError
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.training.run import build_model_from_recipe
from mtl_zoo.trunks.vision import vision_conv

ROOT = Path(__file__).resolve().parents[2]
INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "regression"), Task("c", "binary")]
# Closed form for filters=[4, 4], dense_units=[8] on 8x8x1 images (three blocks, three levels):
CONV_1 = 3 * 3 * 1 * 4 + 4  # 1 -> 4 channels, pooled to 4x4x4
CONV_2 = 3 * 3 * 4 * 4 + 4  # 4 -> 4 channels, pooled to 2x2x4
DENSE = 2 * 2 * 4 * 8 + 8
HEADS = 3 * (8 + 1)


def trunk():
    return vision_conv(INPUTS, filters=[4, 4], dense_units=[8])


def network(groups, tasks=TASKS):
    return build_network(INPUTS, trunk(), tasks, sharing="task_tree", groups=groups)


@pytest.mark.parametrize(
    "groups, copies",  # copies of each level's block = number of groups at that level
    [
        ([["a", "b", "c"], [["a", "b"], ["c"]]], (1, 2, 3)),
        ([["a", "b", "c"], ["a", "b", "c"], [["a", "b", "c"]]], (1, 1, 1)),
        ([[["a", "b"], ["c"]]], (2, 3, 3)),
        ([[["a"], ["b"], ["c"]]], (3, 3, 3)),
        ([[["c"], ["b", "a"]], [["c"], ["b", "a"]], [["a", "b"], ["c"]]], (2, 2, 2)),
    ],
)
def test_parameter_count_is_one_copy_per_group_per_level(groups, copies):
    blocks = (CONV_1, CONV_2, DENSE)
    assert network(groups).count_params() == sum(n * size for n, size in zip(copies, blocks)) + HEADS


def test_layer_names_say_which_group_owns_a_copy():
    names = {layer.name for layer in network([["a", "b", "c"], [["b", "a"], ["c"]]]).layers}
    expected = {"shared_block_1", "a_b_block_2", "c_block_2", "a_block_3", "b_block_3", "c_block_3"}
    assert expected <= names
    assert not {"shared_block_2", "b_a_block_2", "a_block_2", "shared_block_3"} & names


def test_group_names_that_would_clash_are_numbered():
    tasks = [Task("a", "regression"), Task("b", "regression"), Task("a_b", "regression")]
    names = {layer.name for layer in network([[["a", "b"], ["a_b"]]], tasks).layers}
    assert {"a_b_group_1_block_1", "a_b_group_2_block_1"} <= names


def test_variable_map_follows_the_tree():
    model = build_model(INPUTS, trunk(), TASKS, sharing="task_tree", groups=[["a", "b", "c"], [["a", "b"], ["c"]]])
    users_by_layer = {}
    for path, users in model.variable_tasks.items():
        users_by_layer.setdefault(path.split("/")[0], set()).update(users)
    assert users_by_layer == {
        "shared_block_1": {"a", "b", "c"},
        "a_b_block_2": {"a", "b"},
        "c_block_2": {"c"},
        **{f"{name}_block_3": {name} for name in "abc"},
        **{name: {name} for name in "abc"},
    }


@pytest.mark.parametrize(
    "groups, message",
    [
        ([["a", "b"]], r"groups level 1 misses tasks \['c'\]"),
        ([["a", "b", "c"], [["a", "b"], ["b", "c"]]], r"groups level 2 places tasks \['b'\] more than once"),
        ([["a", "b", "c", "a"]], r"groups level 1 places tasks \['a'\] more than once"),
        ([["a", "b", "c"], [["a", "b"], ["c", "d"]]], r"groups level 2 names unknown tasks \['d'\]"),
        (
            [[["a", "b"], ["c"]], [["a"], ["b", "c"]]],
            r"groups level 2 has group \['b', 'c'\] spanning groups \[\['a', 'b'\], \['c'\]\] of level 1",
        ),
        ([["a", "b", "c"], [["a", "b"], ["c"]], [["a", "c"], ["b"]]], r"groups level 3 has group \['a', 'c'\]"),
        ([["a", "b", "c"], [["a", "b"], "c"]], r"groups level 2 must be a list of task names"),
        ([["a", "b", "c"], []], r"groups level 2 must be a list"),
        ([["a", "b", "c"], [["a", "b"], []]], r"groups level 2 must be a list"),
        ([["a", "b", "c"]] * 4, r"groups has 4 levels but the trunk has 3 blocks"),
        ([], r"groups must be a non-empty list"),
        ("abc", r"groups must be a non-empty list"),
    ],
)
def test_bad_trees_give_one_line_naming_groups_and_the_level(groups, message):
    with pytest.raises(OptionError, match=message) as error:
        network(groups)
    assert error.value.option == "groups"
    assert "\n" not in str(error.value) and str(error.value).endswith(f"Received: groups={groups!r}")


def recipe_document(groups):
    document = yaml.safe_load((ROOT / "recipes" / "multidigits_task_tree.yaml").read_text())
    document["model"]["groups"] = groups
    return document


def test_recipe_accepts_both_level_forms_and_reports_a_bad_tree_at_model_groups():
    recipe = validate_recipe(recipe_document([["left_digit", "right_digit"], [["left_digit"], ["right_digit"]]]))
    assert recipe.model.sharing_options["groups"] == [["left_digit", "right_digit"], [["left_digit"], ["right_digit"]]]
    with pytest.raises(RecipeError, match=r"model\.groups: groups level 2 misses tasks \['right_digit'\]"):
        build_model_from_recipe(validate_recipe(recipe_document([["left_digit", "right_digit"], [["left_digit"]]])))
    with pytest.raises(RecipeError, match=r"model\.groups"):
        validate_recipe(recipe_document([["left_digit", 3]]))


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir, capsys):
    folder = tmp_path / "run"
    status = main(["train", str(ROOT / "recipes" / "multidigits_task_tree.yaml"), "--output", str(folder),
                   "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, capsys.readouterr()
    metrics = json.loads((folder / "metrics.json").read_text())
    for task in ("left_digit", "right_digit"):
        # Chance is 0.1; one epoch measured 0.86. Full-accuracy figures: benchmarks/zoo_accuracy.py.
        assert metrics["test"][task]["accuracy"] >= 0.6, metrics["test"]
