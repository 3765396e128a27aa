"""`mtl-zoo group`: measure inter-task affinity and write task_tree groups.

Example:

    mtl-zoo group recipes/multidigits_task_tree.yaml --output groups/
"""

from __future__ import annotations

from pathlib import Path


DEFAULT_GROUP_SUFFIX = "_groups"


def command_group(arguments) -> int:
    """Trains a recipe briefly, measures task affinity, clusters the tasks and writes task_tree groups."""
    import tensorflow as tf

    from mtl_zoo.cli.common import DEFAULT_OUTPUT_ROOT, check_output_argument, prepare_data
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.tuning.grouping import format_matrix, measure_task_grouping, write_grouping

    recipe = load_recipe(arguments.recipe, arguments.set)
    output = check_output_argument(arguments.output or Path(DEFAULT_OUTPUT_ROOT) / f"{recipe.name}{DEFAULT_GROUP_SUFFIX}")
    if recipe.training.deterministic:
        tf.config.experimental.enable_op_determinism()
    print(f"Measuring task affinity of '{recipe.name}' ({len(recipe.tasks)} tasks, {arguments.steps} training steps, "
          f"every {arguments.every_n_steps}) -> {output}", flush=True)
    prepare_data(recipe, recipe.data.train_split, arguments.verbose)
    grouping = measure_task_grouping(recipe, steps=arguments.steps, every_n_steps=arguments.every_n_steps,
                                     threshold=arguments.threshold, num_groups=arguments.num_groups)
    print("\nLookahead affinity (row i stepped on, column j affected: 1 - L_j after / L_j before):")
    print(format_matrix(grouping.affinity, grouping.task_names))
    print("\nGradient cosine similarity on the shared variables:")
    print(format_matrix(grouping.cosine, grouping.task_names))
    rule = (f"cut into {arguments.num_groups} groups" if arguments.num_groups
            else f"merged while above {arguments.threshold}")
    print(f"\nGroups (average linkage on the symmetric affinity, {rule}): {grouping.groups}")
    paths = write_grouping(grouping, recipe, output)
    print(f"Wrote {', '.join(str(path) for path in paths)}")
    return 0
