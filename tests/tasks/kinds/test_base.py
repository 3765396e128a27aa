"""The task-kind seam: a new kind is one TaskKind plus a registry entry; listing; model card entries."""

import dataclasses

import keras
import numpy as np
import pytest

from mtl_zoo.tasks.task import build_head
from mtl_zoo.tasks.kinds.base import TaskKind
from mtl_zoo.registry import TASK_KINDS
from mtl_zoo.tasks.losses import masked_task_loss_and_count
from mtl_zoo.tasks.metrics import make_task_metrics
from mtl_zoo.tasks.task import Task

NEW_KINDS = ("tagging", "bbox", "segmentation", "dense_regression")


@dataclasses.dataclass(frozen=True)
class CountKind(TaskKind):
    """Counts: a softplus output and a Poisson-style loss, refused unless non-negative."""

    def valid_labels(self, task, values):
        from keras import ops

        return ops.logical_and(ops.isfinite(values), ops.greater_equal(values, 0.0))


@pytest.fixture
def count_kind():
    kind = CountKind("test_counts", "Non-negative counts.", activation="softplus", default_loss="poisson",
                     default_metrics=("mae",), losses=("poisson",), metrics=("mae",), label_dtype="float32",
                     missing_value="nan", elementwise=True, fixed_units=1)
    TASK_KINDS.register(kind.name, kind)
    yield kind
    TASK_KINDS._entries.pop(kind.name)  # tests only: leave the registry as it was


def test_a_new_kind_is_one_task_kind_and_a_registry_entry(count_kind):
    task = Task("visits", "test_counts")
    output = build_head(task, keras.Input((3,)))
    assert tuple(output.shape) == (None, 1)
    labels = np.array([[2.0], [np.nan], [-1.0]], "float32")  # -1 is invalid for this kind only
    predictions = np.array([[1.0], [5.0], [5.0]], "float32")
    loss, count = masked_task_loss_and_count(task, labels, predictions)
    assert float(count) == 1.0 and float(loss) == pytest.approx(1.0 - 2.0 * np.log(1.0 + 1e-7), rel=1e-5)
    assert [metric.name for metric in make_task_metrics(task)] == ["visits_mae"]


def test_every_kind_is_listed_with_its_description():
    from mtl_zoo.cli.list import registry_listing

    listing = registry_listing()["task_kinds"]
    assert set(NEW_KINDS) <= set(listing)
    assert "per token" in listing["tagging"].lower() and "box" in listing["bbox"].lower()


@pytest.mark.parametrize("kind, classes, minimum", [("classification", 1, 2), ("tagging", 1, 2),
                                                    ("segmentation", 1, 2)])
def test_minimum_classes_come_from_the_kind(kind, classes, minimum):
    with pytest.raises(ValueError, match=f"classes >= {minimum}"):
        Task("t", kind, classes=classes)


def test_output_cards_describe_the_output_shape():
    card = TASK_KINDS.get("tagging").output_card(Task("ner", "tagging", 3, class_names=["O", "B-X", "I-X"]), [7, 3])
    assert card == {"kind": "tagging", "shape": [7, 3], "activation": "softmax", "class_names": ["O", "B-X", "I-X"]}
    assert TASK_KINDS.get("bbox").output_card(Task("box", "bbox"), [4])["shape"] == [4]


def test_hard_sharing_reports_each_tasks_feature_maps():
    from mtl_zoo.sharing.hard import hard_sharing
    from mtl_zoo.trunks.base import Trunk

    trunk = Trunk([lambda prefix: keras.layers.Dense(4, name=f"{prefix}_dense")] * 3)
    result = hard_sharing(keras.Input((2,)), trunk, [Task("a", "regression"), Task("b", "regression")],
                          shared_depth=1)
    maps = result.feature_maps
    assert len(maps["a"]) == len(maps["b"]) == 3
    assert maps["a"][0] is maps["b"][0] and maps["a"][1] is not maps["b"][1]
    assert maps["a"][-1] is result.features["a"]
