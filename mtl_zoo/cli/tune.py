"""`mtl-zoo tune`: search a recipe's hyperparameters with KerasTuner, then train and export the best.

Example:

    mtl-zoo tune recipes/multidigits_hard.yaml --tuner random --max-trials 3 --output saved_models/tuned
    mtl-zoo tune recipes/multidigits_hard.yaml --max-trials 6 --output saved_models/tuned --resume
"""

from __future__ import annotations

from pathlib import Path


DEFAULT_TUNE_SUFFIX = "_tuned"


def command_tune(arguments) -> int:
    """Searches a recipe's space, prints and writes the trial table, then trains and exports the best recipe."""
    import shutil
    import tempfile

    import keras
    import tensorflow as tf

    from mtl_zoo.cli.common import (
        DEFAULT_OUTPUT_ROOT,
        CommandLineError,
        check_output_argument,
        prepare_data,
        requested_strategy,
        with_command_line_training,
    )
    from mtl_zoo.distribution.strategies import make_strategy, split_cpu
    from mtl_zoo.training.progress import EpochProgress, format_metrics_table
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.training.run import recipe_tasks, train_recipe
    from mtl_zoo.tuning.hypermodel import RecipeHyperModel
    from mtl_zoo.tuning.results import format_trial_table
    from mtl_zoo.tuning.search import check_search_folder, run_search, write_search_results, write_tuned_artifact
    from mtl_zoo.tuning.tuners import trial_tracing

    if arguments.devices is not None:
        split_cpu(arguments.devices)  # process-wide: before TensorFlow initializes its devices
    strategy_name = requested_strategy(arguments)
    if strategy_name == "multi_worker":
        raise CommandLineError("tune runs its trials in one process; use --strategy mirrored (every device of this "
                               "machine) or train the tuned recipe with train --strategy multi_worker. "
                               "Received: strategy 'multi_worker'")
    strategy = make_strategy(strategy_name)
    recipe = with_command_line_training(load_recipe(arguments.recipe, arguments.set), strategy_name,
                                        arguments.mixed_precision)
    output = check_output_argument(arguments.output or Path(DEFAULT_OUTPUT_ROOT) / f"{recipe.name}{DEFAULT_TUNE_SUFFIX}")
    check_search_folder(output, arguments.resume, arguments.overwrite)
    if recipe.training.deterministic:
        tf.config.experimental.enable_op_determinism()
    hypermodel = RecipeHyperModel(recipe, strategy=strategy)  # a bad tuning: section stops here, before any data is read
    for name, why in hypermodel.space.skipped.items():
        print(f"Not searched: {name} ({why})")
    print(f"Searching '{recipe.name}' ({arguments.tuner}, {arguments.max_trials} trials, "
          f"{recipe.training.epochs} epochs each, objective {format_objective(hypermodel.objective)}) -> {output}",
          flush=True)
    prepare_data(recipe, recipe.data.train_split, arguments.verbose)
    outcome = run_search(recipe, arguments.tuner, arguments.max_trials, output, resume=arguments.resume,
                         hypermodel=hypermodel)
    print(f"\nTrials (validation split '{recipe.data.validation_split}'; * = Pareto front over tasks):")
    print(format_trial_table(outcome.rows))
    written = write_search_results(outcome, output)
    best = outcome.summary["best_trial"]
    print(f"\nBest trial by objective: {best}; Pareto front: trials {outcome.summary['pareto_trials']}")
    print(f"Training the best trial's recipe ({outcome.best_recipe.model.sharing}, "
          f"balancer {outcome.best_recipe.balancer.name}) as `train` does", flush=True)
    progress = EpochProgress({task.name: ["loss", *task.metrics] for task in recipe_tasks(outcome.best_recipe)})
    logs = Path(tempfile.mkdtemp(prefix="mtl_zoo_tensorboard_"))
    try:
        with trial_tracing():  # one more new model, after the trials' models
            result = train_recipe(outcome.best_recipe, callbacks=[progress, keras.callbacks.TensorBoard(str(logs))],
                                  strategy=strategy)
        print(f"\nTest metrics of the best trial's recipe ({recipe.data.test_split} split):")
        print(format_metrics_table(result.test_metrics))
        write_tuned_artifact(result, outcome.best_recipe, output, outcome.summary, tensorboard_logs=logs)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    print(f"\nWrote {output}/ ({', '.join(path.name for path in written)}, search/, model.keras, saved_model/, "
          f"metrics.json, recipe.yaml, ...)")
    return 0


def format_objective(objective) -> str:
    """The objective in words, e.g. `mean of left_digit accuracy (max), right_digit accuracy (max)`."""
    terms = ", ".join(f"{task} {metric} ({objective.directions()[task]})" for task, metric in objective.metrics.items())
    return f"Δm vs single-task baselines on {terms}" if objective.uses_delta_m else f"weighted mean of {terms}"
