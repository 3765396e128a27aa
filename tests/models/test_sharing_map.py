"""The sharing table: parameters shared by tasks and private to each, counts and shares right-aligned."""

from types import SimpleNamespace

from mtl_zoo.models.sharing_map import format_sharing_table

NETWORK = SimpleNamespace(trainable_variables=[
    SimpleNamespace(path="trunk/kernel", shape=(100, 120)),
    SimpleNamespace(path="a/kernel", shape=(120, 3)),
    SimpleNamespace(path="long_task/kernel", shape=(120,)),
    SimpleNamespace(path="spare/kernel", shape=(4,)),
])
MAPPING = {"trunk/kernel": frozenset({"a", "long_task"}), "a/kernel": frozenset({"a"}),
           "long_task/kernel": frozenset({"long_task"})}


def test_sharing_table_right_aligns_counts_and_shares():
    assert format_sharing_table(NETWORK, MAPPING, ["a", "long_task"]) == (
        "parameters             count  share\n"
        "shared by 2+ tasks    12,000  96.1%\n"
        "private to a             360   2.9%\n"
        "private to long_task     120   1.0%\n"
        "unused                     4   0.0%"
    )


def test_sharing_table_leaves_out_unused_when_every_parameter_is_used():
    mapping = {**MAPPING, "spare/kernel": frozenset({"a"})}
    assert format_sharing_table(NETWORK, mapping, ["a", "long_task"]).splitlines()[-1] == (
        "private to long_task     120   1.0%"
    )
