"""Shared middle blocks: closed-form sizes, who uses which variables, range errors, the recipe."""

import json
import re
from pathlib import Path

import pytest

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.cli import main
from mtl_zoo.errors import OptionError
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
ROOT = Path(__file__).resolve().parents[2]
TASKS = [Task("digit", "classification", 3), Task("value", "regression"), Task("flag", "binary")]
# Closed form for filters=[4, 4], dense_units=[8] on 8x8x1 images (three blocks):
CONV_1 = 3 * 3 * 1 * 4 + 4  # 1 -> 4 channels, pooled to 4x4x4
CONV_2 = 3 * 3 * 4 * 4 + 4  # 4 -> 4 channels, pooled to 2x2x4
DENSE = 2 * 2 * 4 * 8 + 8
BLOCKS = [CONV_1, CONV_2, DENSE]
HEADS = (8 * 3 + 3) + (8 + 1) + (8 + 1)


def trunk():
    return vision_conv(INPUTS, filters=[4, 4], dense_units=[8])


@pytest.mark.parametrize("shared_from, shared_to", [(0, 1), (0, 3), (1, 2), (1, 3), (2, 3), (0, 2)])
def test_parameter_count_is_shared_blocks_once_plus_one_copy_per_task_of_the_rest(shared_from, shared_to):
    network = build_network(INPUTS, trunk(), TASKS, sharing="shared_middle", shared_from=shared_from,
                            shared_to=shared_to)
    shared = sum(BLOCKS[shared_from:shared_to])
    assert network.count_params() == shared + len(TASKS) * (sum(BLOCKS) - shared) + HEADS


def test_starting_at_zero_is_hard_sharing():
    middle = build_network(INPUTS, trunk(), TASKS, sharing="shared_middle", shared_from=0, shared_to=2)
    hard = build_network(INPUTS, trunk(), TASKS, sharing="hard", shared_depth=2)
    assert [layer.name for layer in middle.layers] == [layer.name for layer in hard.layers]


def test_variable_map_says_the_middle_is_shared_by_all_tasks_and_the_rest_is_private():
    model = build_model(INPUTS, trunk(), TASKS, sharing="shared_middle", shared_from=1, shared_to=2)
    names = [task.name for task in TASKS]
    mapping = model.variable_tasks
    for path, users in mapping.items():
        owner = path.split("/")[0]
        if owner == "shared_block_2":
            assert users == set(names), path
        else:  # {task}_block_1, {task}_block_3 and the heads
            assert len(users) == 1 and owner.startswith(next(iter(users))), (path, users)
    assert {path.split("/")[0] for path in mapping} == (
        {"shared_block_2"} | {f"{name}_block_{i}" for name in names for i in (1, 3)} | set(names)
    )
    counts = model.sharing_summary()
    assert re.search(rf"shared by 2\+ tasks\s+{CONV_2:,}", counts), counts


@pytest.mark.parametrize(
    "shared_from, shared_to, option, message",
    [
        (-1, 2, "shared_from", r"shared_from must be between 0 and 3 \(the trunk has 3 blocks\). Received: shared_from=-1"),
        (1, 4, "shared_to", r"shared_to must be between 0 and 3 .* Received: shared_to=4"),
        (2, 2, "shared_to", r"needs shared_to > shared_from .* Received: shared_from=2, shared_to=2"),
        (3, 1, "shared_to", r"needs shared_to > shared_from"),
        (1.0, 2, "shared_from", r"Received: shared_from=1.0"),
    ],
)
def test_bad_ranges_name_the_option(shared_from, shared_to, option, message):
    with pytest.raises(OptionError, match=message) as error:
        build_network(INPUTS, trunk(), TASKS, sharing="shared_middle", shared_from=shared_from, shared_to=shared_to)
    assert error.value.option == option and "\n" not in str(error.value)


@pytest.mark.slow
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(tmp_path, multi_digits_data_dir, capsys):
    folder = tmp_path / "run"
    status = main(["train", str(ROOT / "recipes" / "multidigits_shared_middle.yaml"), "--output", str(folder),
                   "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, capsys.readouterr()
    metrics = json.loads((folder / "metrics.json").read_text())
    for task in ("left_digit", "right_digit"):
        # Chance is 0.1; one epoch measured 0.81-0.82. Full-accuracy figures: benchmarks/zoo_accuracy.py.
        assert metrics["test"][task]["accuracy"] >= 0.6, metrics["test"]
