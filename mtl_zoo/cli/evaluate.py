"""`mtl-zoo evaluate`: score an artifact on a split of its recipe's data or on a new file.
"""

from __future__ import annotations

import json
from pathlib import Path

from mtl_zoo.cli.common import CommandLineError, check_output_argument, check_split_argument, prepare_data


def command_evaluate(arguments) -> int:
    """Evaluates a trained artifact on a split of its data set."""
    from mtl_zoo.artifacts.folder import RECIPE_FILE, ArtifactError
    from mtl_zoo.artifacts.writer import (
        check_artifact_folder,
        check_label_vocabularies,
        load_artifact_model,
        load_artifact_plugins,
    )
    from mtl_zoo.training.progress import format_metrics_table
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, check_artifact_agreement, leading_batches
    from mtl_zoo.training.run import load_split, metrics_by_task

    folder = check_artifact_folder(arguments.artifact)
    load_artifact_plugins(folder, trusted=arguments.trust_plugins)
    if arguments.data is not None:
        return evaluate_on_file(arguments, folder)
    overrides = [f"data.data_dir={arguments.data_dir}"] if arguments.data_dir else []
    recipe = load_recipe(folder / RECIPE_FILE, overrides)
    check_label_vocabularies(folder, recipe)
    split = check_split_argument(recipe, arguments.split)
    if arguments.output:
        output = check_output_argument(arguments.output)
        target = output / "evaluation.json"
        if target.exists() and not arguments.overwrite:
            raise ArtifactError(f"{target} exists; pass --overwrite to replace it. Received: output={str(output)!r}")
    prepare_data(recipe, split, arguments.verbose)
    model = load_artifact_model(folder)
    batches = load_split(recipe, split)
    check_artifact_agreement(folder, model, leading_batches(batches),
                             f"the first {CHECK_ROWS} rows of the {split} split")
    logs = model.evaluate(batches, return_dict=True, verbose=0)
    metrics = metrics_by_task(model, logs)
    print(f"{recipe.name} on the {split} split:")
    print(format_metrics_table(metrics))
    if arguments.output:
        output.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"recipe": recipe.name, "split": split, "metrics": metrics}, indent=2) + "\n")
        print(f"Wrote {target}")
    return 0


def evaluate_on_file(arguments, folder: Path) -> int:
    """Scores an artifact on a new CSV or Parquet file (`mtl-zoo evaluate ARTIFACT --data FILE`).

    The file needs the feature columns the model was trained on; the column
    types come from the artifact's recipe, the dtypes from the model's inputs
    and the class names of string labels from its `metrics.json`. A task
    whose label column the file lacks is skipped with a note.

    Args:
        arguments: the parsed `evaluate` arguments (`data`, `output`, ...).
        folder: Path. The artifact folder.

    Example:

    >>> main(["evaluate", "saved_models/penguins", "--data", "new_penguins.csv"])  # doctest: +SKIP
    0
    """
    from mtl_zoo.artifacts.folder import RECIPE_FILE, ArtifactError
    from mtl_zoo.artifacts.writer import load_artifact_model, saved_label_vocabularies
    from mtl_zoo.data.tables.files import EVALUATION_SPLIT, evaluation_data_source, label_columns
    from mtl_zoo.training.progress import format_metrics_table
    from mtl_zoo.recipes.loading import parse_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, check_artifact_agreement, leading_batches
    from mtl_zoo.training.run import load_split, metrics_by_task

    for given, flag in ((arguments.split, "--split"), (arguments.data_dir, "--data-dir")):
        if given is not None:
            raise CommandLineError(f"{flag} picks data of the recipe; --data gives a file instead: use one of "
                                   f"them. Received: --data {arguments.data!r} {flag} {given!r}")
    recipe = parse_recipe(folder / RECIPE_FILE)
    if recipe.data.columns is None:
        raise CommandLineError(
            f"--data: {folder} was trained on the registered data set '{recipe.data.name}', not on files with "
            f"data.columns; evaluate it with --split. Received: --data {arguments.data!r}"
        )
    if arguments.output:
        output = check_output_argument(arguments.output)
        target = output / "evaluation.json"
        if target.exists() and not arguments.overwrite:
            raise ArtifactError(f"{target} exists; pass --overwrite to replace it. Received: output={str(output)!r}")
    model = load_artifact_model(folder)
    labels = label_columns(recipe.tasks)
    vocabularies = saved_label_vocabularies(folder)
    source, skipped = evaluation_data_source(
        arguments.data, recipe.data.columns, labels,
        input_dtypes={tensor.name: str(tensor.dtype) for tensor in model.network.inputs},
        vocabularies={label.column: vocabularies.get(label.task) for label in labels},
        na_values=recipe.data.na_values, encoding=recipe.data.encoding,
    )
    if len(skipped) == len(labels):
        raise CommandLineError(f"--data: {arguments.data} has none of the label columns "
                               f"({', '.join(label.column for label in labels)}); nothing to score. "
                               f"Received: --data {arguments.data!r}")
    batches = load_split(recipe, EVALUATION_SPLIT, data_set=source)
    check_artifact_agreement(folder, model, leading_batches(batches),
                             f"the first {CHECK_ROWS} rows of {arguments.data}")
    logs = model.evaluate(batches, return_dict=True, verbose=0)
    skipped_tasks = {label.task for label in skipped}
    metrics = {task: values for task, values in metrics_by_task(model, logs).items() if task not in skipped_tasks}
    print(f"{recipe.name} on {arguments.data}:")
    print(format_metrics_table(metrics))
    for label in skipped:
        print(f"Skipped task '{label.task}': {arguments.data} has no column '{label.column}'.")
    if arguments.output:
        output.mkdir(parents=True, exist_ok=True)
        report = {"recipe": recipe.name, "data": str(arguments.data), "metrics": metrics,
                  "skipped_tasks": sorted(skipped_tasks)}
        target.write_text(json.dumps(report, indent=2) + "\n")
        print(f"Wrote {target}")
    return 0
