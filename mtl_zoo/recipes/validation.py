"""Recipe validation: field types, the options of the named builders, the data and the parts.

Validation checks the fields with pydantic, the options of the named trunk,
sharing scheme and balancer against their builders' signatures, and builds
what is cheap to build, so nothing that passes can fail later for a value the
user wrote: every task (and its loss and metric objects), the trunk's blocks,
the balancer and early stopping's monitor. Any problem raises a one-line `RecipeError` naming the file,
the field path and what is allowed; unknown or ill-typed fields are all
listed at once.
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from typing import Any, Optional

import pydantic
from pydantic import BaseModel, ConfigDict

from mtl_zoo.errors import OptionError, RecipeError
from mtl_zoo.registry import BALANCERS, SHARING_SCHEMES, TASK_KINDS, TRUNKS
from mtl_zoo.recipes.schema import (
    BalancerConfig,
    MEASURED_GROUPS,
    MULTI_TASK_SCORE,
    ModelConfig,
    RESERVED_TASK_NAMES,
    Recipe,
    TaskConfig,
    _STRICT,
    accept_exponent_floats,
)


def _options_model(builder, skip: int, title: str) -> type[BaseModel]:
    """A pydantic model of `builder`'s keyword options (after `skip` positional ones)."""
    target = builder.__init__ if inspect.isclass(builder) else builder
    hints = typing.get_type_hints(target)
    parameters = list(inspect.signature(target).parameters.values())
    if inspect.isclass(builder):
        parameters = parameters[1:]
    fields = {}
    for parameter in parameters[skip:]:
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (accept_exponent_floats(hints.get(parameter.name, Any)), default)
    return pydantic.create_model(title, __config__=ConfigDict(extra="forbid", **_STRICT), **fields)


def _field_path(location) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _allowed_fields(model: type[BaseModel], location) -> list[str]:
    for part in location:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        args = typing.get_args(annotation) or (annotation,)
        nested = [arg for arg in args if inspect.isclass(arg) and issubclass(arg, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _problems(error: pydantic.ValidationError, model: type[BaseModel], prefix=()) -> list:
    """Returns one `(field path, message)` pair per problem of a validation error."""
    problems = []
    for detail in error.errors():
        location = tuple(detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            allowed = _allowed_fields(model, location[:-1])
            message = f"unknown field; allowed: {', '.join(allowed) or '(none)'}"
        elif detail["type"] == "missing":
            message = "required field is missing"
        elif "input" in detail and not (detail["type"] == "value_error" and isinstance(detail["input"], dict)):
            if isinstance(detail["input"], bool) and detail["type"] in ("int_type", "float_type"):
                message += " (true and false are not numbers)"
            message += f". Received: {detail['input']!r}"
        problems.append((_field_path(prefix + location), message))
    return problems


def _raise_problems(source: str, problems: list) -> None:
    """Raises one `RecipeError` listing every `(field path, message)` problem, if any."""
    if problems:
        (field, message), *others = problems
        raise RecipeError(source, field, "; ".join([message] + [f"{path}: {text}" for path, text in others]))


@contextlib.contextmanager
def builder_errors(source: str, prefix: str, field: Optional[str] = None):
    """Turns a `ValueError` a builder raises from user options into a `RecipeError`.

    An `OptionError` names the field `f"{prefix}.{option}"`; any other
    `ValueError` names `field` (defaults to `prefix`). The message is kept
    on one line.

    Args:
        source: str. The recipe file (plus overrides), for the message.
        prefix: str. Field path of the builder's options, e.g.
            "model.trunk_options" or "tasks[0]".
        field: str or None. Field path for errors that name no option.
            Defaults to `prefix`.

    Example:

    >>> with builder_errors("a.yaml", "model"):  # doctest: +IGNORE_EXCEPTION_DETAIL
    ...     raise OptionError("shared_depth", "must be between 0 and 3. Received: 9")
    Traceback (most recent call last):
    mtl_zoo.errors.RecipeError: a.yaml: model.shared_depth: must be between 0 and 3. Received: 9
    """
    try:
        yield
    except RecipeError:
        raise
    except OptionError as error:
        raise RecipeError(source, f"{prefix}.{error.option}", " ".join(str(error).split())) from None
    except ValueError as error:
        raise RecipeError(source, field or prefix, " ".join(str(error).split())) from None


def _option_checks(document: dict) -> dict:
    """`slot -> (builder, positional arguments to skip, options, field prefix)` from the raw recipe.

    Only builders whose name is registered and whose options are a mapping are
    listed, so their options are checked even when other fields are wrong.
    """
    model = document.get("model") if isinstance(document.get("model"), dict) else {}
    balancer = document.get("balancer", {}) if isinstance(document.get("balancer", {}), dict) else None
    checks = {}
    trunk, trunk_options = model.get("trunk"), model.get("trunk_options", {})
    if isinstance(trunk, str) and trunk in TRUNKS and isinstance(trunk_options, dict):
        checks["trunk"] = (TRUNKS.get(trunk), 1, trunk_options, ("model", "trunk_options"))
    sharing = model.get("sharing", ModelConfig.model_fields["sharing"].default)
    if model and isinstance(sharing, str) and sharing in SHARING_SCHEMES:
        options = {key: value for key, value in model.items() if key not in ModelConfig.model_fields}
        if options.get("groups") == MEASURED_GROUPS and sharing == "task_tree":
            # Measured when training starts; checked here as one group of every task.
            tasks = document.get("tasks") if isinstance(document.get("tasks"), list) else []
            options["groups"] = [[task.get("name") for task in tasks if isinstance(task, dict)]]
        checks["sharing"] = (SHARING_SCHEMES.get(sharing), 3, options, ("model",))
    wide = model.get("wide")
    if isinstance(wide, dict):
        from mtl_zoo.models.wide_path import WidePath

        checks["wide"] = (WidePath, 1, wide, ("model", "wide"))
    name = (balancer or {}).get("name", BalancerConfig.model_fields["name"].default)
    if balancer is not None and isinstance(name, str) and name in BALANCERS:
        options = {key: value for key, value in balancer.items() if key not in BalancerConfig.model_fields}
        checks["balancer"] = (BALANCERS.get(name), 0, options, ("balancer",))
    return checks


def _validate_options(document: dict) -> tuple:
    """Validates the options of the trunk, sharing scheme and balancer.

    Returns:
        `(resolved, problems)`: slot -> options with defaults filled in, and
        every `(field path, message)` problem found.
    """
    resolved, problems = {}, []
    for slot, (builder, skip, options, prefix) in _option_checks(document).items():
        options_model = _options_model(builder, skip, "options")
        try:
            resolved[slot] = options_model.model_validate(options).model_dump()
        except pydantic.ValidationError as error:
            problems += _problems(error, options_model, prefix)
    return resolved, problems


def _data_class_names(data_set, task: TaskConfig, data_dir) -> Optional[list]:
    """The data set's class names of the task's label when they give one name per output unit, else None."""
    names = data_set.class_names(task.label_name, data_dir=data_dir)
    units = TASK_KINDS.get(task.kind).fixed_units or task.classes
    return list(names) if names is not None and len(names) == units else None


def _validate_tasks(recipe: Recipe, source: str) -> None:
    """Checks task names are unique, free and match labels of the data set.

    A task without `class_names` takes those of its label from the data set
    (`DataSource.class_names`) when they give one name per output unit.
    """
    from mtl_zoo.data.tables.files import recipe_data_source

    data_set = recipe_data_source(recipe)
    seen = set()
    taken = {**{name: "an input of the data set" for name in data_set.inputs},
             **{name: "a name the exported SavedModel uses" for name in RESERVED_TASK_NAMES}}
    for index, task in enumerate(recipe.tasks):
        if task.name in seen:
            raise RecipeError(source, f"tasks[{index}].name", f"task names must be unique. Received: {task.name!r}")
        seen.add(task.name)
        if task.name in taken:
            raise RecipeError(
                source,
                f"tasks[{index}].name",
                f"'{task.name}' is {taken[task.name]}; choose another task name (and set `label` to "
                f"the data set label it trains on). Received: {task.name!r}",
            )
        label = data_set.labels.get(task.label_name)
        if label is None:
            field = "label" if task.label else "name"
            raise RecipeError(
                source,
                f"tasks[{index}].{field}",
                f"data set '{data_set.name}' has no label '{task.label_name}'; allowed: "
                f"{', '.join(sorted(data_set.labels))}",
            )
        if label.kind != task.kind:
            raise RecipeError(
                source,
                f"tasks[{index}].kind",
                f"label '{task.label_name}' of '{data_set.name}' is a {label.kind} label. "
                f"Received: {task.kind!r}",
            )
        if TASK_KINDS.get(task.kind).label_classes and task.classes != label.classes:
            raise RecipeError(
                source,
                f"tasks[{index}].classes",
                f"label '{task.label_name}' of '{data_set.name}' has {label.classes} classes. "
                f"Received: {task.classes}",
            )
        if task.class_names is None:
            task.class_names = _data_class_names(data_set, task, recipe.data.data_dir)
    unknown = sorted(set(recipe.training.task_learning_rates) - seen)
    if unknown:
        raise RecipeError(
            source, "training.task_learning_rates",
            f"no task is named {', '.join(map(repr, unknown))}; allowed: {', '.join(t.name for t in recipe.tasks)}",
        )
    for split in ("train_split", "validation_split", "test_split"):
        value = getattr(recipe.data, split)
        if value is not None and value not in data_set.splits:
            raise RecipeError(
                source, f"data.{split}", f"allowed: {', '.join(data_set.splits)}. Received: {value!r}"
            )


def _build_parts(recipe: Recipe, source: str) -> None:
    """Builds each task (with its loss and metric objects), the trunk's blocks and the balancer.

    Nothing is kept: this only makes every `ValueError` a builder would raise
    for a user's value a `RecipeError` now, before any data is loaded.
    """
    from mtl_zoo.data.tables.files import recipe_data_source
    from mtl_zoo.tasks.losses import resolve_loss_function
    from mtl_zoo.tasks.metrics import make_task_metrics

    tasks = []
    for index, config in enumerate(recipe.tasks):
        with builder_errors(source, f"tasks[{index}]"):
            task = config.to_task()
        with builder_errors(source, f"tasks[{index}]", field=f"tasks[{index}].loss"):
            resolve_loss_function(task.loss)
        with builder_errors(source, f"tasks[{index}]", field=f"tasks[{index}].metrics"):
            make_task_metrics(task)
        tasks.append(task)
    data_set = recipe_data_source(recipe)
    with builder_errors(source, "model.trunk_options", field="model.trunk"):
        trunk = TRUNKS.get(recipe.model.trunk)(data_set.inputs, **recipe.model.trunk_options)
    with builder_errors(source, "model.trunk_options"):
        for index, block in enumerate(trunk.blocks, start=1):
            block(f"recipe_check_block_{index}")
    with builder_errors(source, "balancer"):
        BALANCERS.get(recipe.balancer.name)(**recipe.balancer.options).build_for_tasks(tasks)
    if recipe.model.wide is not None:
        from mtl_zoo.models.wide_path import WidePath

        with builder_errors(source, "model.wide"):
            WidePath(data_set.inputs, **recipe.model.wide)
        unknown = [name for name in recipe.model.wide["tasks"] or () if name not in {task.name for task in tasks}]
        if unknown:
            raise RecipeError(source, "model.wide.tasks", f"no task is named {', '.join(map(repr, unknown))}; "
                                                          f"allowed: {', '.join(task.name for task in tasks)}")


def validation_logs(recipe: Recipe) -> dict:
    """Each validation value a run of the recipe logs per epoch -> the metric it holds ("loss" for losses).

    These (and `multi_task_score`) are what `training.early_stopping.monitor`
    may name.

    Example:

    >>> from mtl_zoo.recipes.loading import load_recipe
    >>> validation_logs(load_recipe("multidigits_hard"))["val_left_digit_accuracy"]
    'accuracy'
    """
    logs = {"val_loss": "loss"}
    for config in recipe.tasks:
        task = config.to_task()
        logs.update({f"val_{task.name}_{metric}": metric for metric in ("loss", *task.metrics)})
    return logs


def _validate_early_stopping(recipe: Recipe, source: str) -> None:
    """Checks `training.early_stopping` names a logged value and holds rows out only without a validation split.

    The monitored metric's direction is read when the run starts
    (`mtl_zoo.training.early_stopping.monitor_mode`).
    """
    stopping = recipe.training.early_stopping
    if stopping is None:
        return
    field = "training.early_stopping"
    if stopping.validation_fraction is not None and recipe.data.validation_split is not None:
        raise RecipeError(
            source, f"{field}.validation_fraction",
            f"holds validation rows out of the training split when there is no validation split, but the recipe "
            f"validates on split {recipe.data.validation_split!r}; drop validation_fraction, or set "
            f"data.validation_split: null. Received: {stopping.validation_fraction}"
        )
    keys = [MULTI_TASK_SCORE, *validation_logs(recipe)]
    if stopping.monitor not in keys:
        raise RecipeError(source, f"{field}.monitor",
                          f"no such validation log; allowed: {', '.join(keys)}. Received: {stopping.monitor!r}")


def validate_recipe(document: Any, source: str = "<recipe>") -> Recipe:
    """Validates a recipe dict; raises one `RecipeError` for what is wrong.

    Unknown, missing and ill-typed fields are all listed in the one message;
    the checks that need a well-formed recipe (labels of the data set, tasks,
    trunk blocks, balancer) stop at the first problem.

    Args:
        document: dict. The recipe, e.g. parsed from YAML.
        source: str. Where it came from, for error messages.

    Returns:
        A `Recipe` with every default filled in.
    """
    if not isinstance(document, dict):
        raise RecipeError(source, "", f"a recipe is a YAML mapping. Received: {type(document).__name__}")
    recipe, problems = None, []
    try:
        recipe = Recipe.model_validate(document)
    except pydantic.ValidationError as error:
        problems += _problems(error, Recipe)
    resolved, option_problems = _validate_options(document)
    _raise_problems(source, problems + option_problems)
    recipe.model.trunk_options = resolved["trunk"]
    recipe.model.__pydantic_extra__ = resolved["sharing"]
    if (document.get("model") or {}).get("groups") == MEASURED_GROUPS:
        recipe.model.__pydantic_extra__["groups"] = MEASURED_GROUPS  # kept for train to measure
    recipe.balancer.__pydantic_extra__ = resolved["balancer"]
    if recipe.model.wide is not None:
        recipe.model.wide = resolved["wide"]
    _validate_tasks(recipe, source)
    _build_parts(recipe, source)
    _validate_early_stopping(recipe, source)
    recipe._source = source
    return recipe
