"""The `mtl-zoo` command line: the parser, the error mapping and `main`; one module per command.

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
import sys

from mtl_zoo import __version__
from mtl_zoo.cli.common import CommandLineError, configure_output, load_command_plugins
from mtl_zoo.cli.evaluate import command_evaluate
from mtl_zoo.cli.export import command_export
from mtl_zoo.cli.group import command_group
from mtl_zoo.cli.list import command_list
from mtl_zoo.cli.predict import command_predict
from mtl_zoo.cli.train import command_train
from mtl_zoo.cli.tune import command_tune


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
    from mtl_zoo.artifacts.folder import ArtifactError
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
