"""Task groups from measured affinity, as `task_tree` groups (`mtl-zoo group`).

`measure_task_grouping(recipe)` builds the recipe's model with every trunk
block shared (hard sharing, so each task's gradient reaches all shared
blocks), trains it briefly with an `AffinityMonitor`
(`mtl_zoo.tuning.affinity`), and clusters the tasks on the symmetric
affinity `S = (A + A^T) / 2` by average-linkage hierarchical clustering
(scipy): two clusters merge while the mean affinity between them is above
`threshold` (0: a step on one helps the other), or until `num_groups`
groups are left. The groups become a
`task_tree` `groups` option (`mtl_zoo.sharing.task_tree`): level 1 shares the
first block among all tasks, the levels below give each group its own copy
of the blocks, so tasks that help each other keep sharing and tasks that
conflict part early.

`grouped_recipe(recipe)` returns the recipe turned into a `task_tree`
recipe with the measured groups, ready to train.

Example:

>>> grouping = measure_task_grouping(load_recipe("recipes/multidigits_task_tree.yaml"), steps=50)  # doctest: +SKIP
>>> grouping.groups  # doctest: +SKIP
[['left_digit', 'right_digit']]
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import yaml

from mtl_zoo.errors import RecipeError
from mtl_zoo.utils.tables import format_table

AFFINITY_JSON = "affinity.json"
AFFINITY_PNG = "affinity.png"
COSINE_PNG = "gradient_cosine.png"
GROUPS_YAML = "groups.yaml"


@dataclasses.dataclass
class TaskGrouping:
    """What `measure_task_grouping` returns.

    Args:
        task_names: list of str. In recipe order.
        affinity: `[K, K]` array. Mean lookahead affinity (row i on column j).
        cosine: `[K, K]` array. Mean gradient cosine similarity.
        groups: list of lists of task names. The clusters, in task order.
        num_measurements: int.
        steps: int. Training steps taken.
    """

    task_names: list
    affinity: np.ndarray
    cosine: np.ndarray
    groups: list
    num_measurements: int
    steps: int

    def record(self) -> dict:
        """The measurement as plain values (`metrics.json`'s `grouping`, `affinity.json`)."""
        return {
            "tasks": list(self.task_names),
            "steps": self.steps,
            "num_measurements": self.num_measurements,
            "lookahead_affinity": np.round(self.affinity, 6).tolist(),
            "gradient_cosine": np.round(self.cosine, 6).tolist(),
            "groups": self.groups,
        }

    def task_tree_groups(self, num_blocks: int) -> list:
        """The `task_tree` `groups` option: all tasks share level 1, then one group per cluster.

        Args:
            num_blocks: int. Blocks of the trunk (levels).
        """
        shared = [list(self.task_names)]
        if num_blocks < 2:
            return [shared[0]]
        return [shared[0]] + [[list(group) for group in self.groups]] * (num_blocks - 1)


def cluster_tasks(affinity, task_names, threshold: float = 0.0, num_groups=None) -> list:
    """Groups tasks by average-linkage clustering of the symmetric affinity; merges while above `threshold`.

    Args:
        affinity: `[K, K]` array. Row i, column j: task i's effect on task j.
        task_names: list of str.
        threshold: float. Two clusters merge while their mean affinity is
            above it. Defaults to 0.0.
        num_groups: int or None. Cut the tree into at most this many
            groups instead (the threshold is then unused). A brief training
            often lowers every loss a little with any task's step (all
            affinities positive), so asking for a number of groups is the
            usual way to split. Defaults to None.

    Returns:
        list of lists of task names, each in task order, ordered by their first task.

    Example:

    >>> cluster_tasks([[0, .5, -.2], [.4, 0, -.3], [-.1, -.2, 0]], ["a", "b", "c"])
    [['a', 'b'], ['c']]
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    affinity = np.asarray(affinity, dtype=float)
    size = len(task_names)
    if size == 1:
        return [list(task_names)]
    symmetric = (affinity + affinity.T) / 2.0
    offset = max(float(symmetric.max()), threshold) + 1.0  # distances >= 0; average linkage is shift-invariant
    distance = offset - symmetric
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    if num_groups is not None:
        if num_groups < 1:
            raise ValueError(f"num_groups must be at least 1. Received: num_groups={num_groups}")
        labels = fcluster(tree, t=num_groups, criterion="maxclust")
    else:
        labels = fcluster(tree, t=offset - threshold, criterion="distance")
    groups = {}
    for name, label in zip(task_names, labels):
        groups.setdefault(label, []).append(name)
    return sorted(groups.values(), key=lambda group: task_names.index(group[0]))


def affinity_recipe(recipe):
    """The recipe with hard sharing of the whole trunk: the model whose shared gradients affinity is measured on."""
    copy = recipe.model_copy(deep=True)
    copy.model.sharing = "hard"
    copy.model.__pydantic_extra__ = {}
    copy._source = recipe.source
    return copy


def measure_task_grouping(recipe, steps: int = 200, every_n_steps: int = 10, threshold: float = 0.0,
                          num_groups=None, num_batches: int = 2) -> TaskGrouping:
    """Trains the recipe's tasks briefly on a shared trunk, measuring affinity; clusters the tasks.

    Args:
        recipe: `Recipe`. At least two tasks.
        steps: int. Training steps (batches of the training split). Defaults to 200.
        every_n_steps: int. Steps between measurements. Defaults to 10.
        threshold: float. See `cluster_tasks`. Defaults to 0.0.
        num_groups: int or None. See `cluster_tasks`. Defaults to None.
        num_batches: int. Batches of the (unshuffled) training split the
            measurements are averaged over. Defaults to 2.

    Returns:
        A `TaskGrouping`.
    """
    from mtl_zoo.training.run import build_model_from_recipe, compile_model, load_split
    from mtl_zoo.tuning.affinity import AffinityMonitor

    if len(recipe.tasks) < 2:
        raise RecipeError(recipe.source, "tasks", f"grouping needs at least two tasks. Received: {len(recipe.tasks)}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1. Received: steps={steps}")
    shared_recipe = affinity_recipe(recipe)
    keras.utils.set_random_seed(recipe.seed)
    model = build_model_from_recipe(shared_recipe)
    compile_model(model, shared_recipe.training)
    held = list(load_split(shared_recipe, shared_recipe.data.train_split).take(num_batches))
    monitor = AffinityMonitor(every_n_steps, held, shared_recipe.training.learning_rate)
    train = load_split(shared_recipe, shared_recipe.data.train_split, training=True).repeat().take(steps)
    model.fit(train, epochs=1, callbacks=[monitor], verbose=0, shuffle=False)
    task_names = model.task_names
    affinity = monitor.mean_affinity()
    return TaskGrouping(
        task_names=task_names,
        affinity=affinity,
        cosine=monitor.mean_cosine(),
        groups=cluster_tasks(affinity, task_names, threshold, num_groups),
        num_measurements=len(monitor.affinities),
        steps=steps,
    )


def num_trunk_blocks(recipe) -> int:
    """Blocks of the recipe's trunk."""
    from mtl_zoo.data.tables.files import recipe_data_source
    from mtl_zoo.registry import TRUNKS

    return TRUNKS.get(recipe.model.trunk)(recipe_data_source(recipe).inputs, **recipe.model.trunk_options).num_blocks


def format_matrix(matrix, task_names) -> str:
    """A task-by-task matrix as aligned text (rows: task i, columns: task j).

    Every value column is as wide as the longest task name, and at least 8.

    Example:

    >>> print(format_matrix([[0.0, 0.125], [-0.25, 0.0]], ["a", "b"]))
              a         b
    a   +0.0000   +0.1250
    b   -0.2500   +0.0000
    """
    cells = max([8] + [len(name) for name in task_names])
    rows = [[name] + [f"{value:+.4f}" for value in row] for name, row in zip(task_names, np.asarray(matrix))]
    return format_table(rows, header=["", *task_names], align=["left"] + ["right"] * len(task_names),
                        min_widths=[0] + [cells] * len(task_names))


def write_grouping(grouping: TaskGrouping, recipe, output) -> list:
    """Writes `affinity.json`, `affinity.png`, `gradient_cosine.png` and `groups.yaml` to `output`.

    `groups.yaml` holds a recipe fragment: `model: {sharing: task_tree, groups: [...]}`.

    Returns:
        The paths written.
    """
    from mtl_zoo.tuning.search_plots import plot_affinity

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    tree = grouping.task_tree_groups(num_trunk_blocks(recipe))
    record = {"recipe": recipe.name, **grouping.record(), "task_tree_groups": tree}
    (output / AFFINITY_JSON).write_text(json.dumps(record, indent=2) + "\n")
    plot_affinity(grouping.affinity, grouping.task_names,
                  f"lookahead affinity (mean of {grouping.num_measurements})", output / AFFINITY_PNG)
    plot_affinity(grouping.cosine, grouping.task_names,
                  f"gradient cosine (mean of {grouping.num_measurements})", output / COSINE_PNG)
    (output / GROUPS_YAML).write_text(yaml.safe_dump({"model": {"sharing": "task_tree", "groups": tree}},
                                                     sort_keys=False, default_flow_style=None))
    return [output / AFFINITY_JSON, output / AFFINITY_PNG, output / COSINE_PNG, output / GROUPS_YAML]


def grouped_recipe(recipe, steps: int = 200, every_n_steps: int = 10, threshold: float = 0.0, num_groups=None):
    """The recipe as a `task_tree` recipe whose groups are measured (`measure_task_grouping`).

    Args:
        recipe: `Recipe`. Any recipe with two or more tasks; its trunk, tasks,
            balancer and training are kept.
        steps, every_n_steps, threshold, num_groups: see `measure_task_grouping`.

    Returns:
        `(recipe, grouping)`: a copy with `model.sharing: task_tree` and the
        measured `groups`, and the `TaskGrouping`.

    Example:

    >>> recipe, grouping = grouped_recipe(load_recipe("recipes/multidigits_task_tree.yaml"))  # doctest: +SKIP
    """
    grouping = measure_task_grouping(recipe, steps=steps, every_n_steps=every_n_steps, threshold=threshold,
                                     num_groups=num_groups)
    copy = recipe.model_copy(deep=True)
    copy.model.sharing = "task_tree"
    copy.model.__pydantic_extra__ = {"groups": grouping.task_tree_groups(num_trunk_blocks(recipe))}
    copy._source = recipe.source
    return copy, grouping
