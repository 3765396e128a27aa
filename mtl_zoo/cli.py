"""The `mtl-zoo` command line: train, evaluate, predict, export and list.

Every command is a thin layer over the library: recipes (`mtl_zoo.recipes.schema`),
training (`mtl_zoo.training.run`) and artifacts (`mtl_zoo.artifacts.writer`). User
mistakes print one line, `mtl-zoo: error: ...`, and exit with status 2.

The command line, never the library, makes the process-wide settings: it
hides TensorFlow's start-up logs, absl/TFDS info lines and progress bars
unless `--verbose` is given, and enables op determinism before training when
the recipe asks for it (`training.deterministic`, the default). TensorFlow is
imported only once a command runs, so `--help` and `--version` answer at once.

Reading an artifact (`evaluate`, `predict`, `export`) runs none of its code
unless asked: the plugin modules it records are imported only with
`--import MODULE` or `--trust-plugins`, and `model.keras` loads in Keras
safe mode. An artifact whose `model.keras` and `saved_model/` disagree is
refused (`mtl_zoo.artifacts.round_trips.check_artifact_agreement`).

Example:

    mtl-zoo train recipes/multidigits_hard.yaml --set training.epochs=2
    mtl-zoo train recipes/movielens_mmoe.yaml --single-task
    mtl-zoo train recipes/multidigits_hard.yaml --strategy mirrored --devices 2
    mtl-zoo train recipes/multidigits_hard.yaml --strategy multi_worker --workers 2
    mtl-zoo evaluate saved_models/multidigits_hard
    mtl-zoo evaluate saved_models/penguins --data new_penguins.csv
    mtl-zoo predict saved_models/penguins --data unlabelled.csv --output predictions.csv
    mtl-zoo export saved_models/multidigits_hard --output /tmp/serving --overwrite
    mtl-zoo list --json
    mtl-zoo --verbose list
    mtl-zoo --import my_package.my_zoo train my_recipe.yaml
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path

from mtl_zoo import __version__

DEFAULT_OUTPUT_ROOT = "saved_models"


@contextlib.contextmanager
def _silenced_standard_error():
    """Points file descriptor 2 at /dev/null (C++ code writes there directly), then restores it."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def configure_output(verbose: bool) -> None:
    """Quiets TensorFlow, absl and TFDS for a command unless `verbose`; imports TensorFlow.

    Args:
        verbose: bool. Leave TensorFlow's start-up lines (CUDA probing,
            CPU feature notices), absl info and warnings and TFDS progress bars on.

    Example:

    >>> configure_output(verbose=False)  # doctest: +SKIP
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the same CPU numerics on every run
    if verbose:
        import tensorflow  # noqa: F401
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TQDM_DISABLE", "1")  # TFDS "Generating ... examples" progress bars
    with _silenced_standard_error():  # lines logged before TensorFlow applies its log level
        import tensorflow  # noqa: F401
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


@contextlib.contextmanager
def _quiet_standard_output(verbose: bool):
    """Swallows what libraries print to standard output (TFDS's "Downloading and preparing ...")."""
    if verbose:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def prepare_data(recipe, split: str, verbose: bool) -> None:
    """Loads `split` once, so a data set TFDS builds on first use is built now (quietly unless `verbose`).

    Args:
        recipe: `Recipe`. Names the data set and its folder.
        split: str. The split to load.
        verbose: bool. Let TFDS print its "Downloading and preparing" lines.

    Example:

    >>> prepare_data(load_recipe("multidigits_hard"), "train", verbose=False)  # doctest: +SKIP
    """
    from mtl_zoo.data.tables.files import recipe_data_source

    with _quiet_standard_output(verbose):
        recipe_data_source(recipe).load_split(split, data_dir=recipe.data.data_dir)


def requested_strategy(arguments) -> str:
    """The strategy a `train` run asks for (`--strategy`, else the recipe's), read without running TensorFlow.

    `MultiWorkerMirroredStrategy` must exist before TensorFlow runs any op,
    and validating a recipe builds some of its parts, so the strategy is read
    from the YAML and `--set` values first.
    """
    import yaml

    from mtl_zoo.recipes.discovery import resolve_recipe_path
    from mtl_zoo.recipes.overrides import apply_overrides
    from mtl_zoo.errors import RecipeError

    if arguments.strategy:
        return arguments.strategy
    try:
        document = yaml.safe_load(resolve_recipe_path(arguments.recipe).read_text())
        if isinstance(document, dict):
            apply_overrides(document, arguments.set, str(arguments.recipe))
        training = document.get("training") if isinstance(document, dict) else None
        strategy = training.get("strategy", "default") if isinstance(training, dict) else "default"
    except (OSError, yaml.YAMLError, RecipeError):
        return "default"  # load_recipe reports the problem with its field
    return strategy if isinstance(strategy, str) else "default"


def with_command_line_training(recipe, strategy_name: str, mixed_precision: bool):
    """The recipe with `--strategy` and `--mixed-precision` in place of its own values (argparse checked them)."""
    training = recipe.training.model_copy(update={
        "strategy": strategy_name, "mixed_precision": recipe.training.mixed_precision or mixed_precision})
    return recipe.model_copy(update={"training": training})


def run_folder(output: Path) -> Path:
    """The hidden folder beside an artifact where its run keeps checkpoints until it finishes."""
    return output.parent / f".{output.name}.run"


def command_train(arguments) -> int:
    """Trains a recipe and writes its artifact folder."""
    import shutil
    import tempfile

    from mtl_zoo.distribution.strategies import split_cpu

    if arguments.devices is not None:
        split_cpu(arguments.devices)  # process-wide: before TensorFlow initializes its devices
    strategy_name = requested_strategy(arguments)
    if arguments.workers is not None:
        return supervise_local_workers(arguments, strategy_name)

    import keras
    import tensorflow as tf

    from mtl_zoo.artifacts.writer import check_output_folder, write_artifact
    from mtl_zoo.training.checkpoints import RunCheckpoints, recipe_fingerprint
    from mtl_zoo.distribution.strategies import is_chief, make_strategy, strategy_record
    from mtl_zoo.training.progress import EpochProgress, format_metrics_table
    from mtl_zoo.recipes.loading import dump_recipe, load_recipe
    from mtl_zoo.recipes.schema import wants_measured_groups
    from mtl_zoo.training.run import build_model_from_recipe, recipe_tasks, train_recipe

    strategy = make_strategy(strategy_name)  # first: a multi-worker strategy must precede every op
    recipe = with_command_line_training(load_recipe(arguments.recipe, list(arguments.set)), strategy_name,
                                        arguments.mixed_precision)
    chief = is_chief(strategy)
    output = check_output_argument(arguments.output or Path(DEFAULT_OUTPUT_ROOT) / recipe.name)
    if chief:
        check_output_folder(output, arguments.overwrite)
    if recipe.training.deterministic:
        tf.config.experimental.enable_op_determinism()
    say = print if chief else (lambda *args, **kwargs: None)
    record = strategy_record(strategy)
    where = "" if record["strategy"] == "default" else (
        f", strategy '{record['strategy']}' on {record['replicas']} replicas"
        + (f" in {record['workers']} workers" if record["workers"] > 1 else ""))
    say(f"Training '{recipe.name}' ({len(recipe.tasks)} tasks, sharing '{recipe.model.sharing}', "
        f"{recipe.training.epochs} epochs{where}) -> {output}", flush=True)
    grouping = None
    if wants_measured_groups(recipe):
        recipe, grouping = measure_groups(recipe, arguments.verbose, say)
    build_model_from_recipe(recipe, adapt=False, strategy=strategy)  # a bad option stops here, before any data is read
    prepare_data(recipe, recipe.data.train_split, arguments.verbose)
    progress = EpochProgress({task.name: ["loss", *task.metrics] for task in recipe_tasks(recipe)})
    logs = Path(tempfile.mkdtemp(prefix="mtl_zoo_tensorboard_"))
    checkpoint_folder = run_folder(output) / "checkpoints"
    fingerprint = recipe_fingerprint(dump_recipe(recipe))

    def checkpoints(model):
        found = RunCheckpoints(checkpoint_folder, model, fingerprint, recipe.training.checkpoint_every_n_steps,
                               chief=chief)
        if chief and (checkpoint_folder / "run_state.json").exists():
            say(f"Resuming from the checkpoint in {checkpoint_folder}", flush=True)
        return found

    callbacks = [progress, keras.callbacks.TensorBoard(str(logs))] if chief else []
    try:
        result = train_recipe(recipe, callbacks=callbacks, strategy=strategy, checkpoints=checkpoints)
        say(f"\nTrained in {result.train_seconds:.1f}s ({result.train_examples} examples x "
            f"{result.epochs_trained:g} epochs, {result.examples_per_second:.0f} examples/s)")
        say(f"Test metrics ({recipe.data.test_split} split, evaluated in {result.evaluation_seconds:.1f}s):")
        say(format_metrics_table(result.test_metrics))
        baselines = train_single_task_models(recipe, result) if arguments.single_task else None
        if chief:
            extra_metrics = {**(baselines or {}), "distribution": result.distribution}
            if grouping is not None:
                extra_metrics["grouping"] = grouping.record()
            write_artifact(result, recipe, output, overwrite=arguments.overwrite, tensorboard_logs=logs,
                           extra_metrics=extra_metrics)
        result.checkpoints.remove()
        if chief:
            shutil.rmtree(run_folder(output), ignore_errors=True)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    if not chief:
        return 0
    extra = "".join(f", {path.name}" for path in sorted(output.glob("gradient_conflicts.*")))
    print(f"\nWrote {output}/ (model.keras, saved_model/, metrics.json, MODEL_CARD.md, recipe.yaml, "
          f"learning_curves.png, task_weights.png{extra}, tensorboard/)")
    if baselines:
        print("The single-task models are not saved; their test metrics are in metrics.json "
              "(single_task, single_task_models, delta_m).")
    return 0


def measure_groups(recipe, verbose: bool, say=print):
    """`model.groups: auto`: measures task affinity and returns `(recipe with the groups, TaskGrouping)`."""
    from mtl_zoo.recipes.schema import GroupingConfig
    from mtl_zoo.tuning.grouping import grouped_recipe

    settings = recipe.tuning.grouping if recipe.tuning else GroupingConfig()
    say(f"Measuring task affinity for model.groups: auto ({settings.steps} training steps, every "
        f"{settings.every_n_steps})", flush=True)
    prepare_data(recipe, recipe.data.train_split, verbose)
    grouped, grouping = grouped_recipe(recipe, steps=settings.steps, every_n_steps=settings.every_n_steps,
                                       threshold=settings.threshold, num_groups=settings.num_groups)
    say(f"Task groups: {grouping.groups} -> model.groups: {grouped.model.sharing_options['groups']}", flush=True)
    return grouped, grouping


def supervise_local_workers(arguments, strategy_name: str) -> int:
    """Runs `train` as `--workers N` local worker processes of one multi-worker cluster (`mtl_zoo.distribution.workers`)."""
    from mtl_zoo.distribution.workers import command_without_workers, run_local_workers

    if strategy_name != "multi_worker":
        raise CommandLineError(f"--workers starts a multi-worker run; add --strategy multi_worker (or set "
                               f"training.strategy: multi_worker). Received: --workers {arguments.workers} with "
                               f"strategy {strategy_name!r}")
    if os.environ.get("TF_CONFIG"):
        raise CommandLineError("--workers starts its own local cluster, but TF_CONFIG is set; unset TF_CONFIG, or "
                               "drop --workers to join the cluster TF_CONFIG describes")
    output = Path(arguments.output) if arguments.output else None
    log_folder = run_folder(output) / "worker_logs" if output else None
    command = command_without_workers(arguments.argv)
    if "--strategy" not in command:
        command += ["--strategy", "multi_worker"]
    return run_local_workers(command, arguments.workers, timeout_seconds=arguments.worker_timeout,
                             log_folder=log_folder)


def train_single_task_models(recipe, result) -> dict:
    """Trains and prints the recipe's single-task baselines (`train --single-task`); returns the report.

    Args:
        recipe: `Recipe`. The multi-task recipe.
        result: `TrainingResult`. Its trained multi-task model.

    Returns:
        The `metrics.json` fields of `mtl_zoo.training.single_task.SingleTaskBaselines.report`.

    Example:

    >>> train_single_task_models(recipe, train_recipe(recipe))["delta_m"]  # doctest: +SKIP
    2.41
    """
    from mtl_zoo.training.progress import EpochProgress
    from mtl_zoo.training.single_task import format_comparison_table, train_single_task_baselines

    def announce(plan):
        print(f"\nSingle-task model of '{plan.task}' (sharing '{plan.sharing}', same trunk and budget)", flush=True)
        if plan.note:
            print(f"Note: {plan.note}.", flush=True)
        return [EpochProgress({plan.task: ["loss", *plan.recipe.tasks[0].to_task().metrics]})]

    baselines = train_single_task_baselines(recipe, callbacks=announce)
    report = baselines.report(result)
    print(f"\nMulti-task vs single-task ({recipe.data.test_split} split, each task's first metric):")
    print(format_comparison_table(report, result.test_metrics))
    return report


def command_evaluate(arguments) -> int:
    """Evaluates a trained artifact on a split of its data set."""
    from mtl_zoo.artifacts.writer import (
        RECIPE_FILE,
        ArtifactError,
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
    from mtl_zoo.artifacts.writer import RECIPE_FILE, ArtifactError, load_artifact_model, saved_label_vocabularies
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


def command_export(arguments) -> int:
    """Exports a trained artifact's model as a SavedModel with per-task signatures."""
    import shutil

    from mtl_zoo.artifacts.writer import (
        SAVED_MODEL_DIR,
        ArtifactError,
        check_artifact_folder,
        load_artifact_model,
        load_artifact_plugins,
        replace_folder,
        staging_folder,
    )
    from mtl_zoo.artifacts.saved_model import export_saved_model
    from mtl_zoo.artifacts.round_trips import SAMPLE_FILE, check_artifact_agreement

    folder = check_artifact_folder(arguments.artifact)
    load_artifact_plugins(folder, trusted=arguments.trust_plugins)
    target = check_output_argument(arguments.output or folder) / SAVED_MODEL_DIR
    if target.exists() and not arguments.overwrite:
        raise ArtifactError(
            f"{target} already exists; pass --overwrite to replace it or --output DIR to write "
            f"elsewhere. Received: output={str(arguments.output or folder)!r}"
        )
    model = load_artifact_model(folder)
    if (folder / SAMPLE_FILE).exists():
        check_artifact_agreement(folder, model)
    else:  # an artifact written before the rows were stored: check on its test split
        check_on_test_split(folder, model, arguments.verbose)
    staging = staging_folder(target)
    try:
        export_saved_model(model, staging)
        replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(f"Wrote {target} (signatures: serving_default, {', '.join(model.task_names)})")
    return 0


def check_on_test_split(folder: Path, model, verbose: bool) -> None:
    """Compares an artifact's `model.keras` (loaded as `model`) with `saved_model/` on its test split's first rows."""
    from mtl_zoo.artifacts.writer import RECIPE_FILE
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, check_artifact_agreement, leading_batches
    from mtl_zoo.training.run import load_split

    recipe = load_recipe(folder / RECIPE_FILE)
    prepare_data(recipe, recipe.data.test_split, verbose)
    check_artifact_agreement(folder, model, leading_batches(load_split(recipe, recipe.data.test_split)),
                             f"the first {CHECK_ROWS} rows of the {recipe.data.test_split} split")


def command_predict(arguments) -> int:
    """Predicts every row of a CSV or Parquet file without labels (`mtl-zoo predict ARTIFACT --data FILE`).

    Writes one column per task output (class names and probabilities, see
    `mtl_zoo.artifacts.prediction`) to `--output`, or prints the first rows.

    Example:

    >>> main(["predict", "saved_models/penguins", "--data", "new.csv", "--output", "predictions.csv"])  # doctest: +SKIP
    0
    """
    from mtl_zoo.artifacts.writer import RECIPE_FILE, check_artifact_folder, load_artifact_model, load_artifact_plugins, \
        read_metrics
    from mtl_zoo.artifacts.prediction import PREDICT_BATCH_SIZE, check_output_path, check_reads_tables, predict_rows, preview, \
        table_rows, write_predictions
    from mtl_zoo.recipes.loading import parse_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, check_artifact_agreement, leading_batches

    folder = check_artifact_folder(arguments.artifact)
    load_artifact_plugins(folder, trusted=arguments.trust_plugins)
    output = check_output_path(arguments.output, arguments.overwrite) if arguments.output else None
    recipe = parse_recipe(folder / RECIPE_FILE)
    check_reads_tables(folder, recipe, arguments.data)
    metrics = read_metrics(folder)
    model = load_artifact_model(folder)
    rows = table_rows(folder, recipe, model, arguments.data)
    check_artifact_agreement(folder, model, leading_batches(rows.batch(PREDICT_BATCH_SIZE)),
                             f"the first {CHECK_ROWS} rows of {arguments.data}")
    frame = predict_rows(model, rows, metrics.get("outputs") or {})
    if output is None:
        print(f"{recipe.name} on {arguments.data}: {len(frame)} rows; the first {min(len(frame), 10)}:")
        print(preview(frame))
        print("Pass --output FILE (.csv or .parquet) to write every row.")
        return 0
    write_predictions(frame, output)
    print(f"Wrote {output} ({len(frame)} rows; columns {', '.join(frame.columns)})")
    return 0


class CommandLineError(ValueError):
    """A command-line argument is invalid (`mtl-zoo` prints it as one line and exits 2)."""


def check_output_argument(output) -> Path:
    """Returns the output folder as a `Path`; raises if it, or a folder above it, is a file.

    Args:
        output: str or Path. The `--output` folder (or the default one).

    Example:

    >>> check_output_argument("saved_models/new_run")
    PosixPath('saved_models/new_run')
    """
    output = Path(output)
    for path in (output, *output.parents):
        if path.exists():
            if not path.is_dir():
                raise CommandLineError(
                    f"{path} is a file, not a folder; give --output a folder path. "
                    f"Received: --output {str(output)!r}"
                )
            break
    return output


def check_split_argument(recipe, split) -> str:
    """Returns the split to evaluate (`--split`, else the recipe's test split); raises if unknown.

    Args:
        recipe: `Recipe`. Supplies the data set and its test split.
        split: str or None. The `--split` argument.
    """
    from mtl_zoo.data.tables.files import recipe_data_source

    if split is None:
        return recipe.data.test_split
    data_set = recipe_data_source(recipe)
    splits = data_set.splits
    if split not in splits:
        raise CommandLineError(
            f"--split: data set '{data_set.name}' has no split {split!r}; allowed: "
            f"{', '.join(splits)}. Received: --split {split!r}"
        )
    return split


def registry_listing() -> dict:
    """Every registry as name -> one-line description, plus the available recipes.

    An entry a plugin registered ends with `[plugin <module or entry point>]`.
    """
    from mtl_zoo.utils.plugins import entry_origins
    from mtl_zoo.recipes.discovery import available_recipes
    from mtl_zoo.registry import ALL_REGISTRIES, describe

    origins = entry_origins()
    listing = {}
    for registry_name, registry in ALL_REGISTRIES.items():
        listing[registry_name] = {}
        for name in registry.names():
            entry = registry.get(name)
            text = getattr(entry, "description", None) or describe(entry)
            origin = origins.get((registry_name, name))
            listing[registry_name][name] = f"{text} [plugin {origin}]".lstrip() if origin else text
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


def load_command_plugins(modules) -> None:
    """Loads the installed `mtl_zoo.utils.plugins` entry points and the `--import` modules.

    The current folder is searched after `sys.path` (as `python -m` would),
    so `--import my_zoo` finds `./my_zoo.py`.

    Args:
        modules: list of str. The `--import` module names.

    Example:

    >>> load_command_plugins(["my_package.my_zoo"])  # doctest: +SKIP
    """
    from mtl_zoo.utils.plugins import load_plugins

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    load_plugins(modules)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `mtl-zoo`."""
    parser = argparse.ArgumentParser(
        prog="mtl-zoo", description="Multi-task learning models for Keras 3: train, evaluate, predict, export, list."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbose_help = "show TensorFlow's start-up logs, absl/TFDS info and progress bars"
    parser.add_argument("--verbose", action="store_true", help=verbose_help)
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                        help="import a module that registers trunks, sharing schemes, balancers or data "
                        "sets before the command runs (repeatable; the current folder is searched too)")
    # Accepted after the command too; SUPPRESS keeps a sub-command from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    reading = argparse.ArgumentParser(add_help=False)  # the commands that read an artifact
    reading.add_argument("--trust-plugins", action="store_true",
                         help="import the plugin modules the artifact records (metrics.json field plugins); "
                         "importing runs their code, so only for artifacts you trust (or --import each one)")

    train = commands.add_parser("train", parents=[common], help="train a recipe and write its artifact folder",
                                description="Train a recipe; writes model.keras, saved_model/, "
                                "metrics.json, recipe.yaml, learning_curves.png and tensorboard/ "
                                "to the output folder.")
    train.add_argument("recipe", help="recipe YAML file, or the name of a recipe in recipes/")
    train.add_argument("--output", metavar="DIR", help="artifact folder (default: saved_models/<recipe name>/)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a recipe field, e.g. --set training.epochs=2 (repeatable)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing artifact folder")
    train.add_argument("--single-task", action="store_true",
                       help="also train one model per task (same trunk, options and budget; not saved) and "
                       "report their test metrics and Δm in metrics.json")
    train.add_argument("--strategy", choices=["default", "mirrored", "multi_worker", "tpu"],
                       help="tf.distribute strategy (default: the recipe's training.strategy); the recipe's batch "
                       "size is the global batch")
    train.add_argument("--devices", type=int, metavar="N",
                       help="split the CPU into N logical devices (with --strategy mirrored: N replicas on one CPU)")
    train.add_argument("--workers", type=int, metavar="N",
                       help="with --strategy multi_worker: start N local worker processes on 127.0.0.1 and "
                       "supervise them (worker 0 writes the artifact)")
    train.add_argument("--worker-timeout", type=float, default=None, metavar="SECONDS",
                       help="with --workers: stop every worker and fail after this long (default: no limit)")
    train.add_argument("--mixed-precision", action="store_true",
                       help="compute in mixed_bfloat16 on CPU/TPU, mixed_float16 on GPU (training.mixed_precision)")
    train.set_defaults(handler=command_train)

    evaluate = commands.add_parser("evaluate", parents=[common, reading],
                                   help="evaluate a trained artifact on its test split",
                                   description="Evaluate a trained artifact and print per-task metrics.")
    evaluate.add_argument("artifact", help="artifact folder written by `mtl-zoo train`")
    evaluate.add_argument("--split", help="split to evaluate (default: the recipe's test split)")
    evaluate.add_argument("--data", metavar="FILE", help="evaluate on a CSV or Parquet file with the columns the "
                          "model was trained on (tasks without a label column are skipped)")
    evaluate.add_argument("--data-dir", help="TFDS data folder (default: the recipe's)")
    evaluate.add_argument("--output", metavar="DIR", help="also write DIR/evaluation.json")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing evaluation.json")
    evaluate.set_defaults(handler=command_evaluate)

    export = commands.add_parser("export", parents=[common, reading], help="export a trained artifact as a SavedModel",
                                 description="Export a SavedModel with one serving signature per "
                                 "task plus serving_default (all tasks).")
    export.add_argument("artifact", help="artifact folder written by `mtl-zoo train`")
    export.add_argument("--output", metavar="DIR", help="write DIR/saved_model (default: the artifact folder)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing saved_model/")
    export.set_defaults(handler=command_export)

    predict = commands.add_parser("predict", parents=[common, reading], help="predict the rows of a CSV or Parquet "
                                  "file without labels", description="Run a trained artifact on every row of a "
                                  "file with the feature columns it was trained on (label columns are ignored): "
                                  "per task the predicted class name and each class's probability, or the values; "
                                  "prints the first rows, or writes them all with --output.")
    predict.add_argument("artifact", help="artifact folder written by `mtl-zoo train` on a table (data.columns)")
    predict.add_argument("--data", metavar="FILE", required=True, help="CSV or Parquet file to predict")
    predict.add_argument("--output", metavar="FILE", help="write the predictions to FILE (.csv, .tsv, .parquet)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    predict.set_defaults(handler=command_predict)

    listing = commands.add_parser("list", parents=[common], help="list registered components and recipes",
                                  description="List task kinds, trunks, sharing schemes, balancers, "
                                  "data sets and recipes.")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=command_list)
    add_tuning_parsers(commands, common)
    return parser


def command_tune(arguments) -> int:
    """Searches a recipe's hyperparameters and exports the best model (`mtl_zoo.tuning.commands`)."""
    from mtl_zoo.tuning.commands import command_tune as run

    return run(arguments)


def command_group(arguments) -> int:
    """Measures task affinity and emits task_tree groups (`mtl_zoo.tuning.commands`)."""
    from mtl_zoo.tuning.commands import command_group as run

    return run(arguments)


def add_tuning_parsers(commands, common) -> None:
    """Adds the `tune` and `group` sub-commands to the parser's sub-commands."""
    tune = commands.add_parser("tune", parents=[common], help="search a recipe's sharing, balancer, loss weights and "
                               "learning rate with KerasTuner, then train and export the best",
                               description="Search with KerasTuner; prints and writes the trial table "
                               "(search_results.csv/.json), the per-task trade-off plot (search_tradeoff.png) and "
                               "the best recipe's artifact, as `train` writes it, to the output folder.")
    tune.add_argument("recipe", help="recipe YAML file, or the name of a recipe in recipes/")
    tune.add_argument("--tuner", choices=["random", "bayesian", "hyperband"], default="random",
                      help="search algorithm (default: random)")
    tune.add_argument("--max-trials", type=int, default=10, metavar="N", help="trials to run (default: 10)")
    tune.add_argument("--output", metavar="DIR", help="output folder (default: saved_models/<recipe name>_tuned/)")
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a recipe field, e.g. --set training.epochs=2 (repeatable)")
    tune.add_argument("--resume", action="store_true",
                      help="continue the search in the output folder (finished trials are kept, not rerun)")
    tune.add_argument("--overwrite", action="store_true", help="start afresh in an output folder that holds files")
    tune.add_argument("--strategy", choices=["default", "mirrored", "tpu"],
                      help="tf.distribute strategy every trial trains under (default: the recipe's "
                      "training.strategy); the recipe's batch size is the global batch")
    tune.add_argument("--devices", type=int, metavar="N", help="split the CPU into N logical devices")
    tune.add_argument("--mixed-precision", action="store_true",
                      help="compute in mixed_bfloat16 on CPU/TPU, mixed_float16 on GPU (training.mixed_precision)")
    tune.set_defaults(handler=command_tune)

    group = commands.add_parser("group", parents=[common], help="measure inter-task affinity and emit task_tree "
                                "groups", description="Train a recipe briefly, measure the lookahead task affinity "
                                "(Fifty et al. 2021) and gradient cosine similarity, cluster the tasks and write "
                                "affinity.json, affinity.png and groups.yaml to the output folder.")
    group.add_argument("recipe", help="recipe YAML file, or the name of a recipe in recipes/")
    group.add_argument("--output", metavar="DIR", help="output folder (default: saved_models/<recipe name>_groups/)")
    group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a recipe field (repeatable)")
    group.add_argument("--steps", type=int, default=200, help="training steps (default: 200)")
    group.add_argument("--every-n-steps", type=int, default=10, help="measure every this many steps (default: 10)")
    group.add_argument("--threshold", type=float, default=0.0,
                       help="merge groups while their mean affinity is above this (default: 0)")
    group.add_argument("--num-groups", type=int, metavar="K",
                       help="cut the task clustering into at most K groups (instead of --threshold)")
    group.set_defaults(handler=command_group)


def main(argv=None) -> int:
    """Entry point of `mtl-zoo`; returns the exit status.

    A bad command-line argument prints one line and returns 2; Ctrl-C, at any
    point (importing TensorFlow included), prints one line and returns 130.

    Args:
        argv: list of str or None. The arguments. Defaults to `sys.argv[1:]`.
    """
    try:
        return _run_command(argv)
    except CommandLineError as error:
        print(f"mtl-zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mtl-zoo: interrupted; no artifact was written or replaced.", file=sys.stderr)
        return 130


def _run_command(argv) -> int:
    """Parses `argv`, sets the process up and runs the command; user mistakes return 2."""
    arguments = build_parser().parse_args(argv)
    arguments.argv = list(sys.argv[1:] if argv is None else argv)
    configure_output(arguments.verbose)
    from mtl_zoo.artifacts.writer import ArtifactError
    from mtl_zoo.distribution.strategies import DistributionError
    from mtl_zoo.errors import (
        CheckpointError,
        DataError,
        OptionError,
        PluginError,
        RecipeError,
        TrainingDivergedError,
    )
    from mtl_zoo.artifacts.prediction import PredictionError
    from mtl_zoo.registry import RegistryError
    from mtl_zoo.distribution.workers import WorkerError

    try:
        load_command_plugins(arguments.imports)
        return arguments.handler(arguments)
    except (RecipeError, ArtifactError, DataError, RegistryError, OptionError, PluginError, DistributionError,
            CheckpointError, TrainingDivergedError, WorkerError, PredictionError) as error:
        print(f"mtl-zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mtl-zoo: interrupted; no artifact was written or replaced.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
