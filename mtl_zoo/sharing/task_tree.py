"""Task tree: tasks grouped level by level; each group shares its own copy of that level's block.

Hierarchical (task-clustered) branching: level 1 is the trunk's first block,
level 2 its second, and so on. At each level the tasks are partitioned into
groups, and every group gets one copy of that level's block, fed by the copy
its tasks used at the level above. A group may only split as the levels go
down, never merge, so the network is a tree that branches from the input
towards the heads, as in fully-adaptive feature sharing (Lu et al., CVPR
2017: https://arxiv.org/abs/1611.05377) and branched multi-task networks
(Vandenhende et al., BMVC 2020: https://arxiv.org/abs/1904.02920).

`groups` lists one entry per level, from the first block down. A level is
either a list of task names (one group of those tasks) or a list of groups
(lists of task names); every level holds each task exactly once. Levels
beyond those given (the trunk may have more blocks) are per task: each task
gets its own copy of the remaining blocks.

Layer names say which group owns a copy: `shared_block_{i}` for a group of
all tasks, else the group's task names joined by "_" in model task order
(`a_b_block_2`, `c_block_2`); should two groups of a level get the same name
(tasks named `a_b` and `a`, `b`), `_group_{k}` numbers the level's groups.

Options:
    groups: list. Groups per level, e.g. `[["a", "b", "c"], [["a", "b"], ["c"]]]`.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.task_tree import task_tree
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 3)
>>> tasks = [Task("a", "regression"), Task("b", "regression"), Task("c", "regression")]
>>> result = task_tree(keras.Input((3,)), trunk, tasks, groups=[["a", "b", "c"], [["a", "b"], ["c"]]])
>>> features, maps = result.features, result.feature_maps
>>> features["a"] is features["b"], features["a"] is features["c"]
(False, False)
>>> maps["a"][1] is maps["b"][1], maps["a"][1] is maps["c"][1]
(True, False)
"""

from __future__ import annotations

from typing import List, Union

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.result import SharingResult, reports_feature_maps

# One entry per level: a list of task names (one group), or a list of groups.
Groups = List[Union[List[str], List[List[str]]]]


def _level_error(number: int, message: str, groups) -> OptionError:
    return OptionError("groups", f"groups level {number} {message}. Received: groups={groups!r}")


def _level_groups(number: int, level, groups) -> list:
    """One level as a list of groups (tuples of names); raises if it is neither form."""
    if isinstance(level, (list, tuple)) and level and all(isinstance(name, str) for name in level):
        return [tuple(level)]
    if (
        isinstance(level, (list, tuple))
        and level
        and all(
            isinstance(group, (list, tuple)) and group and all(isinstance(name, str) for name in group)
            for group in level
        )
    ):
        return [tuple(group) for group in level]
    raise _level_error(
        number,
        "must be a list of task names (one group) or a list of non-empty lists of task names "
        "(one per group)",
        groups,
    )


def parse_groups(groups, task_names, num_blocks: int) -> list:
    """Validates `groups`; returns, per level, its groups as tuples of task names.

    Args:
        groups: list. The `groups` option.
        task_names: list of str. The model's tasks.
        num_blocks: int. Blocks of the trunk (at most one level each).

    Returns:
        A list with one entry per trunk block: the groups of that level, in
        the order given; levels past `groups` have one group per task.
    """
    if not isinstance(groups, (list, tuple)) or not groups:
        raise OptionError(
            "groups",
            "groups must be a non-empty list with one entry per level (trunk block), e.g. "
            f'[["a", "b", "c"], [["a", "b"], ["c"]]]. Received: groups={groups!r}',
        )
    if len(groups) > num_blocks:
        raise OptionError(
            "groups",
            f"groups has {len(groups)} levels but the trunk has {num_blocks} blocks (one level "
            f"per block). Received: groups={groups!r}",
        )
    levels = []
    for number, level in enumerate(groups, start=1):
        level_groups = _level_groups(number, level, groups)
        names = [name for group in level_groups for name in group]
        unknown = sorted(set(names) - set(task_names))
        if unknown:
            raise _level_error(number, f"names unknown tasks {unknown}; the tasks are {list(task_names)}", groups)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise _level_error(number, f"places tasks {repeated} more than once; give each task one group", groups)
        missing = [name for name in task_names if name not in names]
        if missing:
            raise _level_error(number, f"misses tasks {missing}; every level must place every task in a group", groups)
        if levels:
            for group in level_groups:
                parents = [parent for parent in levels[-1] if set(group) & set(parent)]
                if len(parents) > 1:
                    raise _level_error(
                        number,
                        f"has group {list(group)} spanning groups {[list(p) for p in parents]} of level "
                        f"{number - 1}; groups may only split from one level to the next",
                        groups,
                    )
        levels.append(level_groups)
    return levels + [[(name,) for name in task_names]] * (num_blocks - len(levels))


def group_names(level_groups, task_names) -> list:
    """Layer name prefix of each group of one level (see the module docstring)."""
    names = [
        "shared" if len(group) == len(task_names) else "_".join(name for name in task_names if name in group)
        for group in level_groups
    ]
    if len(set(names)) < len(names):
        names = [f"{name}_group_{number}" for number, name in enumerate(names, start=1)]
    return names


@SHARING_SCHEMES.register("task_tree")
@reports_feature_maps
def task_tree(features, trunk, tasks, groups: Groups) -> SharingResult:
    """Gives each group of tasks at each level its own copy of that level's block.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories (one per level).
        tasks: list of `Task`.
        groups: list. One entry per level, at most one per trunk block: a
            list of task names (one group) or a list of groups (lists of task
            names). Each level places every task exactly once, and a group
            lies within one group of the level above. Levels past the last
            one given are per task.

    Returns:
        A `SharingResult`: each task's features before its head, and its
        feature maps (the output of the block of its group at every level).
    """
    task_names = [task.name for task in tasks]
    levels = parse_groups(groups, task_names, trunk.num_blocks)
    current = {name: features for name in task_names}  # each task's tensor at the current level
    feature_maps = {name: [] for name in task_names}
    for index, level_groups in enumerate(levels):
        for group, prefix in zip(level_groups, group_names(level_groups, task_names)):
            output = trunk.blocks[index](f"{prefix}_block_{index + 1}")(current[group[0]])
            current.update({name: output for name in group})
            for name in group:
                feature_maps[name].append(output)
    return SharingResult(features=current, feature_maps=feature_maps)
