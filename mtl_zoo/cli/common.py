"""What the commands share: the command-line error, output folders, quiet output, data preparation, strategies.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from pathlib import Path


DEFAULT_OUTPUT_ROOT = "saved_models"


@contextlib.contextmanager
def silenced_standard_error():
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
    """Quiets TensorFlow, absl, TFDS and one false Keras warning for a command unless `verbose`; imports TensorFlow.

    The Keras warning: `keras_hub.layers.TokenAndPositionEmbedding` (the
    `text` trunk's) hands its masked token embeddings to its
    `PositionEmbedding`, and Keras warns that the mask is lost; the layer
    puts the mask back on its output, so the padding stays masked
    (https://github.com/keras-team/keras/issues/19794).

    Args:
        verbose: bool. Leave TensorFlow's start-up lines (CUDA probing,
            CPU feature notices), absl info and warnings, TFDS progress bars
            and that warning on.

    Example:

    >>> configure_output(verbose=False)  # doctest: +SKIP
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the same CPU numerics on every run
    if verbose:
        import tensorflow  # noqa: F401
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TQDM_DISABLE", "1")  # TFDS "Generating ... examples" progress bars
    warnings.filterwarnings(
        "ignore", message=r"Layer 'position_embedding' \(of type PositionEmbedding\) was passed an input with a mask"
    )
    with silenced_standard_error():  # lines logged before TensorFlow applies its log level
        import tensorflow  # noqa: F401
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


@contextlib.contextmanager
def quiet_standard_output(verbose: bool):
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

    with quiet_standard_output(verbose):
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


def check_on_test_split(folder: Path, model, verbose: bool) -> None:
    """Compares an artifact's `model.keras` (loaded as `model`) with `saved_model/` on its test split's first rows."""
    from mtl_zoo.artifacts.folder import RECIPE_FILE
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, check_artifact_agreement, leading_batches
    from mtl_zoo.training.run import load_split

    recipe = load_recipe(folder / RECIPE_FILE)
    prepare_data(recipe, recipe.data.test_split, verbose)
    check_artifact_agreement(folder, model, leading_batches(load_split(recipe, recipe.data.test_split)),
                             f"the first {CHECK_ROWS} rows of the {recipe.data.test_split} split")


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


def load_command_plugins(modules) -> None:
    """Loads the installed `mtl_zoo.plugins` entry points and the `--import` modules.

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
