"""Errors that point at what the user wrote.

`OptionError` is raised by builders (trunks, sharing schemes, balancers) for a
bad option value and names the option, so a recipe error can say which field
of which file is wrong. `RecipeError` is the one-line message the command line
prints: file, field path, what is wrong and how to fix it. `listed` writes the
names a message offers (columns, splits, classes) on that one line.

Example:

>>> str(RecipeError("recipes/a.yaml", "model.shared_depth", "must be between 0 and 3. Received: 9"))
'recipes/a.yaml: model.shared_depth: must be between 0 and 3. Received: 9'
>>> listed(["a", "b"])
'a, b'
"""

from __future__ import annotations

# Names a message lists before it only counts the rest.
_MAX_LISTED = 30


def listed(names) -> str:
    """Names joined by commas, the first 30 and how many more."""
    names = [str(name) for name in names]
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f", ... ({len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


class OptionError(ValueError):
    """A builder option has a bad value.

    Args:
        option: str. The option's name (e.g. "shared_depth").
        message: str. What is wrong, how to fix it, and the value received.
    """

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


class RecipeError(ValueError):
    """A recipe (or a `--set` override) is invalid.

    Args:
        source: str. The recipe file (plus overrides, if any).
        field: str. Dotted path of the field, e.g. "tasks[0].kind".
        message: str. What is wrong and what is allowed.
    """

    def __init__(self, source: str, field: str, message: str):
        location = f"{source}: {field}" if field else source
        super().__init__(f"{location}: {message}")
        self.source = source
        self.field = field


class DataError(ValueError):
    """A data set could not be built or loaded (missing files, no network, ...)."""


class PluginError(ValueError):
    """A plugin module or entry point could not be imported (see `mtl_zoo.utils.plugins`)."""


class InvalidLabelError(ValueError):
    """A batch held a label its task cannot have (e.g. class 12 of 10).

    Raised after the training or evaluation step that saw it; the message
    names the task and the rule, e.g. "Task digit has a label that cannot
    belong to it: class indices must be below classes=3 (-1 marks a missing
    label)".

    Args:
        task: str. The task's name.
        message: str. The one-line explanation.
    """

    def __init__(self, task: str, message: str):
        super().__init__(message)
        self.task = task


class TrainingDivergedError(ValueError):
    """A task's loss became NaN or infinite during training (the run stops; its last good checkpoint is kept)."""

    def __init__(self, task: str, message: str):
        super().__init__(message)
        self.task = task


class CheckpointError(ValueError):
    """A run's checkpoints cannot be resumed (another recipe wrote them, or they are unreadable)."""
