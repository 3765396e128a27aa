"""The `mtl-zoo` command line: train, evaluate, export and list.

Every command is a thin layer over the library: recipes (`mtl_zoo.recipes`),
training (`mtl_zoo.training`) and artifacts (`mtl_zoo.artifacts`). User
mistakes print one line, `mtl-zoo: error: ...`, and exit with status 2.

Example:

    mtl-zoo train recipes/multidigits_hard.yaml --set training.epochs=2
    mtl-zoo evaluate saved_models/multidigits_hard
    mtl-zoo export saved_models/multidigits_hard --output /tmp/serving --overwrite
    mtl-zoo list --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_OUTPUT_ROOT = "saved_models"


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def command_train(arguments) -> int:
    """Trains a recipe and writes its artifact folder."""
    from mtl_zoo.artifacts import check_output_folder, write_artifact
    from mtl_zoo.progress import EpochProgress, format_metrics_table
    from mtl_zoo.recipes import load_recipe
    from mtl_zoo.training import recipe_tasks, train_recipe

    recipe = load_recipe(arguments.recipe, arguments.set)
    output = Path(arguments.output or Path(DEFAULT_OUTPUT_ROOT) / recipe.name)
    check_output_folder(output, arguments.overwrite)
    print(f"Training '{recipe.name}' ({len(recipe.tasks)} tasks, sharing '{recipe.model.sharing}', "
          f"{recipe.training.epochs} epochs) -> {output}", flush=True)
    progress = EpochProgress({task.name: ["loss", *task.metrics] for task in recipe_tasks(recipe)})
    result = train_recipe(recipe, callbacks=[progress])
    print(f"\nTest metrics ({recipe.data.test_split} split, {result.wall_time_seconds:.1f}s):")
    print(format_metrics_table(result.test_metrics))
    write_artifact(result, recipe, output, overwrite=arguments.overwrite)
    print(f"\nWrote {output}/ (model.keras, saved_model/, metrics.json, recipe.yaml)")
    return 0


def command_evaluate(arguments) -> int:
    """Evaluates a trained artifact on a split of its data set."""
    import keras

    from mtl_zoo.artifacts import MODEL_FILE, RECIPE_FILE, ArtifactError, check_artifact_folder
    from mtl_zoo.progress import format_metrics_table
    from mtl_zoo.recipes import load_recipe
    from mtl_zoo.training import load_split, metrics_by_task

    folder = check_artifact_folder(arguments.artifact)
    overrides = [f"data.data_dir={arguments.data_dir}"] if arguments.data_dir else []
    recipe = load_recipe(folder / RECIPE_FILE, overrides)
    split = arguments.split or recipe.data.test_split
    model = keras.models.load_model(folder / MODEL_FILE)
    logs = model.evaluate(load_split(recipe, split), return_dict=True, verbose=0)
    metrics = metrics_by_task(model, logs)
    print(f"{recipe.name} on the {split} split:")
    print(format_metrics_table(metrics))
    if arguments.output:
        output = Path(arguments.output)
        target = output / "evaluation.json"
        if target.exists() and not arguments.overwrite:
            raise ArtifactError(f"{target} exists; pass --overwrite to replace it. Received: output={str(output)!r}")
        output.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"recipe": recipe.name, "split": split, "metrics": metrics}, indent=2) + "\n")
        print(f"Wrote {target}")
    return 0


def command_export(arguments) -> int:
    """Exports a trained artifact's model as a SavedModel with per-task signatures."""
    import shutil

    import keras

    from mtl_zoo.artifacts import (
        MODEL_FILE,
        SAVED_MODEL_DIR,
        ArtifactError,
        check_artifact_folder,
        replace_folder,
        staging_folder,
    )
    from mtl_zoo.export import export_saved_model

    folder = check_artifact_folder(arguments.artifact)
    target = Path(arguments.output or folder) / SAVED_MODEL_DIR
    if target.exists() and not arguments.overwrite:
        raise ArtifactError(
            f"{target} already exists; pass --overwrite to replace it or --output DIR to write "
            f"elsewhere. Received: output={str(arguments.output or folder)!r}"
        )
    model = keras.models.load_model(folder / MODEL_FILE)
    staging = staging_folder(target)
    try:
        export_saved_model(model, staging)
        replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(f"Wrote {target} (signatures: serving_default, {', '.join(model.task_names)})")
    return 0


def registry_listing() -> dict:
    """Every registry as name -> one-line description, plus the available recipes."""
    import mtl_zoo  # noqa: F401  (registers everything)
    from mtl_zoo.recipes import available_recipes
    from mtl_zoo.registry import ALL_REGISTRIES, describe

    listing = {}
    for registry_name, registry in ALL_REGISTRIES.items():
        listing[registry_name] = {}
        for name in registry.names():
            entry = registry.get(name)
            listing[registry_name][name] = getattr(entry, "description", None) or describe(entry)
    listing["recipes"] = {name: str(path) for name, path in available_recipes().items()}
    return listing


def command_list(arguments) -> int:
    """Lists task kinds, trunks, sharing schemes, balancers, data sets and recipes."""
    listing = registry_listing()
    if arguments.json:
        print(json.dumps(listing, indent=2))
        return 0
    for registry_name, entries in listing.items():
        print(f"{registry_name}:")
        width = max((len(name) for name in entries), default=0)
        for name, text in entries.items():
            print(f"  {name.ljust(width)}  {text}".rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `mtl-zoo`."""
    parser = argparse.ArgumentParser(
        prog="mtl-zoo", description="Multi-task learning models for Keras 3: train, evaluate, export, list."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a recipe and write its artifact folder",
                                description="Train a recipe; writes model.keras, saved_model/, "
                                "metrics.json and recipe.yaml to the output folder.")
    train.add_argument("recipe", help="recipe YAML file, or the name of a recipe in recipes/")
    train.add_argument("--output", metavar="DIR", help="artifact folder (default: saved_models/<recipe name>/)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a recipe field, e.g. --set training.epochs=2 (repeatable)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing artifact folder")
    train.set_defaults(handler=command_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a trained artifact on its test split",
                                   description="Evaluate a trained artifact and print per-task metrics.")
    evaluate.add_argument("artifact", help="artifact folder written by `mtl-zoo train`")
    evaluate.add_argument("--split", help="split to evaluate (default: the recipe's test split)")
    evaluate.add_argument("--data-dir", help="TFDS data folder (default: the recipe's)")
    evaluate.add_argument("--output", metavar="DIR", help="also write DIR/evaluation.json")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing evaluation.json")
    evaluate.set_defaults(handler=command_evaluate)

    export = commands.add_parser("export", help="export a trained artifact as a SavedModel",
                                 description="Export a SavedModel with one serving signature per "
                                 "task plus serving_default (all tasks).")
    export.add_argument("artifact", help="artifact folder written by `mtl-zoo train`")
    export.add_argument("--output", metavar="DIR", help="write DIR/saved_model (default: the artifact folder)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing saved_model/")
    export.set_defaults(handler=command_export)

    listing = commands.add_parser("list", help="list registered components and recipes",
                                  description="List task kinds, trunks, sharing schemes, balancers, "
                                  "data sets and recipes.")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=command_list)
    return parser


def main(argv=None) -> int:
    """Entry point of `mtl-zoo`; returns the exit status."""
    arguments = build_parser().parse_args(argv)
    _quiet_tensorflow()
    from mtl_zoo.artifacts import ArtifactError
    from mtl_zoo.errors import DataError, OptionError, RecipeError
    from mtl_zoo.registry import RegistryError

    try:
        return arguments.handler(arguments)
    except (RecipeError, ArtifactError, DataError, RegistryError, OptionError) as error:
        print(f"mtl-zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mtl-zoo: interrupted; no artifact was written or replaced.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
