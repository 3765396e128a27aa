"""`mtl-zoo train`: train a recipe and write its artifact (local workers, single-task baselines, measured groups).
"""

from __future__ import annotations

import os
from pathlib import Path

from mtl_zoo.cli.common import (
    CommandLineError,
    DEFAULT_OUTPUT_ROOT,
    check_output_argument,
    prepare_data,
    requested_strategy,
    run_folder,
    with_command_line_training,
)


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
    from mtl_zoo.training.early_stopping import check_monitor, describe as describe_early_stopping
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
    stopping = recipe.training.early_stopping
    epochs = (f"{recipe.training.epochs} epochs" if stopping is None
              else f"at most {recipe.training.epochs} epochs, stopping early on {stopping.monitor}")
    say(f"Training '{recipe.name}' ({len(recipe.tasks)} tasks, sharing '{recipe.model.sharing}', "
        f"{epochs}{where}) -> {output}", flush=True)
    grouping = None
    if wants_measured_groups(recipe):
        recipe, grouping = measure_groups(recipe, arguments.verbose, say)
    build_model_from_recipe(recipe, adapt=False, strategy=strategy)  # a bad option stops here, before any data is read
    check_monitor(recipe)
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
        if result.early_stopping:
            say(describe_early_stopping(result.early_stopping, recipe.training.epochs))
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
