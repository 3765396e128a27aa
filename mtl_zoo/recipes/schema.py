"""Recipe schema: the pydantic models of every recipe field.

A recipe names a data set, its tasks, a trunk, a sharing scheme (with its
options), a balancer and the training plan. Types are strict (`true` is not an
integer, `"3"` is not a number) and floats must be finite; a float written
with an exponent and no decimal point (`1e-3`, which PyYAML reads as a
string) is the number it spells, in every float field. Reading and checking
a recipe file is `mtl_zoo.recipes.loading.load_recipe`.

Example:

>>> from mtl_zoo.recipes.schema import Recipe
>>> sorted(Recipe.model_fields)[:3]
['balancer', 'data', 'description']
"""

from __future__ import annotations

import os
import re
import typing
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from mtl_zoo.feature_types import FEATURE_TYPES
from mtl_zoo.registry import BALANCERS, DATASETS, SHARING_SCHEMES, TASK_KINDS, TRUNKS, Registry


# Recipes come from YAML, so every value already has its real type: no coercion
# (`true` is not 1), no NaN or infinity.
_STRICT = dict(strict=True, allow_inf_nan=False)
# Largest seed `keras.utils.set_random_seed` (NumPy) accepts.
MAX_SEED = 2**32 - 1
# Training steps per call of the compiled training function (see `TrainingConfig`).
DEFAULT_STEPS_PER_EXECUTION = 32
# A float with an exponent and no decimal point (`1e-3`): YAML 1.1, so PyYAML, reads it as a string.
_EXPONENT_FLOAT = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$")


def _exponent_float(value):
    """`float(value)` for a string such as "1e-3" that PyYAML leaves unread; any other value unchanged."""
    if isinstance(value, str) and _EXPONENT_FLOAT.match(value.strip()):
        return float(value)
    return value


# Every float field of a recipe: strict, but "1e-3" from YAML or --set is the number 0.001.
Float = Annotated[float, BeforeValidator(_exponent_float)]


def accept_exponent_floats(hint):
    """`hint` with every `float` in it made `Float` (in Optional, Union, list, tuple, dict, Annotated).

    Example:

    >>> accept_exponent_floats(Optional[float]) == Optional[Float]
    True
    """
    if hint is float:
        return Float
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is None or not args or origin is Literal:
        return hint
    if origin is Annotated:
        return Annotated[(accept_exponent_floats(args[0]), *hint.__metadata__)]
    converted = tuple(arg if arg is Ellipsis else accept_exponent_floats(arg) for arg in args)
    if origin is Union:
        return Union[converted]
    if origin in (list, tuple, dict, set, frozenset):
        return origin[converted]
    return hint


# Names a task cannot take because the exported SavedModel uses them for signatures.
RESERVED_TASK_NAMES = ("serving_default",)
# `model.groups` of a task_tree recipe whose groups `train` measures from task affinity first.
MEASURED_GROUPS = "auto"
# The multi-task score's log key (`mtl_zoo.training.score`): the default `training.early_stopping.monitor`.
MULTI_TASK_SCORE = "multi_task_score"


def _check_name(registry: Registry, value: str) -> str:
    if value not in registry:
        raise ValueError(
            f"unknown {registry.kind} '{value}'; allowed: {', '.join(registry.names())}"
        )
    return value


FEATURE_TYPE = Literal[FEATURE_TYPES]
# Fields that describe data files; a registered data set (`name`) takes none of them.
FILE_FIELDS = ("file", "files", "split_column", "validation_fraction", "test_fraction", "split_seed", "columns",
               "na_values", "encoding")


class DataConfig(BaseModel):
    """Which data to load and how: a registered data set, or CSV/Parquet files.

    Give `name` (a registered data set), or files in one of three layouts:
    `file` with a `split_column`; `file` with `test_fraction` (and
    `validation_fraction`) split off at random with `split_seed`; or `files`
    mapping each split name to its file (with `validation_fraction`, the
    validation rows are drawn from the train file instead). With files,
    `columns` names the feature columns and their types, and each task's
    `label` names its column (see `mtl_zoo.data.tables.files`). `na_values` lists
    the cells that mean "missing" in numeric columns besides a blank cell
    (defaults to `mtl_zoo.data.tables.values.MISSING_MARKERS`); categorical, id and
    text columns keep every value as written. `encoding` is the text encoding
    of CSV files (defaults to UTF-8). Relative paths start at the recipe
    file's folder (`load_recipe` resolves them; any other relative path
    starts at the working directory).
    """

    model_config = ConfigDict(extra="forbid", **_STRICT)

    name: Optional[str] = None
    file: Optional[str] = Field(None, min_length=1)
    files: Optional[dict[str, Annotated[str, Field(min_length=1)]]] = Field(None, min_length=1)
    split_column: Optional[str] = Field(None, min_length=1)
    validation_fraction: Optional[Float] = Field(None, gt=0, lt=1)
    test_fraction: Optional[Float] = Field(None, gt=0, lt=1)
    split_seed: int = Field(0, ge=0, le=MAX_SEED)
    columns: Optional[dict[str, FEATURE_TYPE]] = Field(None, min_length=1)
    na_values: Optional[list[str]] = None
    encoding: Optional[str] = Field(None, min_length=1)
    data_dir: Optional[str] = None
    train_split: str = "train"
    validation_split: Optional[str] = "validation"
    test_split: str = "test"
    shuffle_buffer: int = Field(10000, ge=0)

    @field_validator("name")
    @classmethod
    def _known_data_set(cls, value):
        return value if value is None else _check_name(DATASETS, value)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value):
        import codecs

        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError("unknown text encoding; give a Python codec name such as utf-8, latin-1, cp1252 "
                                 "or utf-16") from None
        return value

    @field_validator("file")
    @classmethod
    def _absolute_file(cls, value):
        return value if value is None else os.path.abspath(os.path.expanduser(value))

    @field_validator("files")
    @classmethod
    def _absolute_files(cls, value):
        return value if value is None else {split: os.path.abspath(os.path.expanduser(path))
                                            for split, path in value.items()}

    @model_validator(mode="after")
    def _one_layout(self):
        given = [field for field in ("name", "file", "files") if getattr(self, field) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of name (a registered data set), file (one CSV or Parquet file) or "
                f"files (one file per split). Received: {', '.join(given) or 'none of them'}"
            )
        if self.name is not None:
            extra = [field for field in FILE_FIELDS if field != "split_seed" and getattr(self, field) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} describe data files; a registered data set (name) takes "
                                 f"none of them. Received: name={self.name!r}")
            return self
        if self.data_dir is not None:
            raise ValueError("data_dir is the TFDS folder of a registered data set; files take none. "
                             f"Received: data_dir={self.data_dir!r}")
        if self.columns is None:
            raise ValueError("columns is required with data files: name each feature column and its type, "
                             "e.g. {age: numeric, city: categorical, user_id: id, review: text}")
        splits = [split for split in (self.train_split, self.validation_split, self.test_split) if split is not None]
        fractions = self.validation_fraction is not None or self.test_fraction is not None
        if self.files is not None:
            if self.split_column is not None or self.test_fraction is not None:
                raise ValueError("split_column and test_fraction split one file; with files every split has its "
                                 "own file (validation_fraction may draw the validation rows from the train file)")
            if self.validation_fraction is not None:
                self._check_validation_from_train(splits)
            drawn = self.validation_split if self.validation_fraction is not None else None
            missing = [split for split in splits if split not in self.files and split != drawn]
            if missing:
                raise ValueError(f"files has no file for split {missing[0]!r} (train_split, validation_split and "
                                 f"test_split name the splits). Received: files for {', '.join(self.files)}")
            return self
        if self.split_column is not None and fractions:
            raise ValueError("give split_column (each row names its split) or validation_fraction/test_fraction "
                             "(a random split), not both")
        if self.split_column is None and not fractions:
            raise ValueError("a single file needs split_column (a column naming each row's split) or test_fraction "
                             "and validation_fraction (a random split with split_seed)")
        if fractions:
            self._check_fractions(splits)
        return self

    def _check_validation_from_train(self, splits: list) -> None:
        """With files, `validation_fraction` draws the validation split from the train file."""
        if self.validation_split is None:
            raise ValueError("validation_fraction draws the validation split from the train file; set "
                             "validation_split (e.g. validation), or drop validation_fraction. Received: "
                             "validation_split=None")
        if self.validation_split in self.files:
            raise ValueError(
                f"files gives the validation split its own file and validation_fraction draws it from the train "
                f"file; give one of them. Received: files.{self.validation_split} and validation_fraction="
                f"{self.validation_fraction}"
            )
        if len(set(splits)) != len(splits):
            raise ValueError(f"validation_fraction needs distinct split names. Received: {', '.join(splits)}")

    def _check_fractions(self, splits: list) -> None:
        if self.test_fraction is None:
            raise ValueError("test_fraction is required to split a file at random. Received: "
                             f"validation_fraction={self.validation_fraction}")
        if (self.validation_fraction is None) != (self.validation_split is None):
            raise ValueError(
                "validation_fraction and validation_split go together: give validation_fraction, or set "
                f"validation_split: null for no validation split. Received: validation_fraction="
                f"{self.validation_fraction}, validation_split={self.validation_split!r}"
            )
        if (self.validation_fraction or 0.0) + self.test_fraction >= 1:
            raise ValueError("validation_fraction + test_fraction must leave rows for training. Received: "
                             f"{self.validation_fraction} + {self.test_fraction}")
        if len(set(splits)) != len(splits):
            raise ValueError(f"a random split needs distinct split names. Received: {', '.join(splits)}")


class TaskConfig(BaseModel):
    """One task: the arguments of `mtl_zoo.tasks.task.Task` plus its data set label."""

    model_config = ConfigDict(extra="forbid", **_STRICT)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    kind: str
    classes: int = Field(1, ge=1)
    loss: Optional[str] = Field(None, min_length=1)
    metrics: Optional[list[str]] = None
    loss_weight: Float = Field(1.0, ge=0)
    head_units: list[Annotated[int, Field(ge=1)]] = []
    class_names: Optional[list[str]] = None
    output_size: Optional[list[Annotated[int, Field(ge=1)]]] = Field(None, min_length=2, max_length=2)
    label: Optional[str] = None
    standardize_target: Optional[bool] = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value):
        return _check_name(TASK_KINDS, value)

    @property
    def label_name(self) -> str:
        """The data set label this task trains on (defaults to the task name)."""
        return self.label or self.name

    def to_task(self):
        """The `mtl_zoo.tasks.task.Task` this entry describes."""
        from mtl_zoo.tasks.task import Task

        return Task(
            name=self.name,
            kind=self.kind,
            classes=self.classes,
            loss=self.loss,
            metrics=self.metrics,
            loss_weight=self.loss_weight,
            head_units=self.head_units,
            class_names=self.class_names,
            output_size=self.output_size,
            standardize_target=self.standardizes_target,
        )

    @property
    def standardizes_target(self) -> bool:
        """`standardize_target` as given, else true for a kind that takes it (`regression`; the runner adapts it)."""
        if self.standardize_target is None:
            return TASK_KINDS.get(self.kind).standardizes_targets
        return self.standardize_target


class FeatureAlignmentConfig(BaseModel):
    """A feature-alignment term between two tasks (see `mtl_zoo.sharing.alignment`)."""

    model_config = ConfigDict(extra="forbid", **_STRICT)

    tasks: list[str] = Field(min_length=2, max_length=2)
    weight: Float = Field(1.0, ge=0)


class ModelConfig(BaseModel):
    """Trunk and sharing scheme; extra keys are options of the sharing scheme.

    `wide` holds the options of a wide path (`mtl_zoo.models.wide_path.WidePath`:
    `columns`, `ngrams`, `max_tokens`, `l2`, `crosses`, `tasks`), checked
    against its signature like the trunk's options; absent or null: none.
    """

    model_config = ConfigDict(extra="allow", **_STRICT)

    trunk: str
    trunk_options: dict[str, Any] = {}
    sharing: str = "hard"
    feature_alignment: Optional[list[FeatureAlignmentConfig]] = None
    wide: Optional[dict[str, Any]] = None

    @field_validator("trunk")
    @classmethod
    def _known_trunk(cls, value):
        return _check_name(TRUNKS, value)

    @field_validator("sharing")
    @classmethod
    def _known_sharing(cls, value):
        return _check_name(SHARING_SCHEMES, value)

    @property
    def sharing_options(self) -> dict:
        """Options passed to the sharing scheme (every key but trunk/sharing/feature_alignment/wide)."""
        return dict(self.model_extra or {})

    @property
    def feature_alignment_option(self):
        """The feature-alignment terms as plain dicts, or None."""
        if not self.feature_alignment:
            return None
        return [entry.model_dump() for entry in self.feature_alignment]


class BalancerConfig(BaseModel):
    """Balancer name; extra keys are the balancer's constructor options."""

    model_config = ConfigDict(extra="allow", **_STRICT)

    name: str = "fixed"

    @field_validator("name")
    @classmethod
    def _known_balancer(cls, value):
        return _check_name(BALANCERS, value)

    @property
    def options(self) -> dict:
        """Constructor options of the balancer."""
        return dict(self.model_extra or {})


class GradientConflictsConfig(BaseModel):
    """Measure the tasks' gradient conflicts every `every_n_steps` training steps (`GradientConflictMonitor`)."""

    model_config = ConfigDict(extra="forbid", **_STRICT)

    every_n_steps: int = Field(ge=1)


class EarlyStoppingConfig(BaseModel):
    """Stop training when a validation metric stops improving, and keep the best epoch's weights.

    `monitor` is `multi_task_score` (the score `mtl-zoo tune` maximizes,
    `tuning.objective`) or a logged validation key: `val_loss`,
    `val_<task>_loss` or `val_<task>_<metric>`; it must improve by more than
    `min_delta` within `patience` epochs. Without a validation split
    (`data.validation_split: null`), `validation_fraction` of the training
    rows (0.1 when not given), drawn with `data.split_seed`, are held out to
    validate on (`mtl_zoo.data.held_out`). See `mtl_zoo.training.early_stopping`.
    """

    model_config = ConfigDict(extra="forbid", **_STRICT)

    patience: int = Field(ge=0)
    monitor: str = Field(MULTI_TASK_SCORE, min_length=1)
    min_delta: Float = Field(0.0, ge=0)
    validation_fraction: Optional[Float] = Field(None, gt=0, lt=1)


class TrainingConfig(BaseModel):
    """How long and with what optimizer to train.

    `steps_per_execution` training steps run in one call of the compiled
    training function (Keras' `compile(steps_per_execution=...)`): fewer
    calls from Python, and the invalid-label check reads back once per call.
    Keras callbacks then see one batch end per call; epochs are unchanged.
    `deterministic` asks the command line to enable TensorFlow's op
    determinism (a process-wide switch) before training, so a run repeats
    bit for bit on the same machine; `train_recipe` itself never flips it.
    `task_learning_rates` (task name -> multiplier >= 0 of the learning
    rate, 1 for unnamed tasks) and `adaptive_task_learning_rates` wrap the
    optimizer in `TaskLearningRates`; `gradient_conflicts` adds a
    `GradientConflictMonitor`.
    `strategy` names the `tf.distribute` strategy (`mtl_zoo.distribution.strategies`);
    `batch_size` is the global batch, split across replicas.
    `mixed_precision` builds the model in `mixed_bfloat16` on CPU and TPU,
    `mixed_float16` on GPU (`mtl_zoo.distribution.precision`). `mtl-zoo train` keeps a
    checkpoint of the run at the end of every epoch and, with
    `checkpoint_every_n_steps`, every that many training steps too
    (`mtl_zoo.training.checkpoints`). `early_stopping` ends training once
    its monitored validation metric stops improving and restores the best
    epoch's weights; `epochs` is then the most it trains.
    """

    model_config = ConfigDict(extra="forbid", **_STRICT)

    epochs: int = Field(ge=1)
    batch_size: int = Field(64, ge=1)
    optimizer: str = "adam"
    learning_rate: Float = Field(1e-3, gt=0)
    steps_per_execution: int = Field(DEFAULT_STEPS_PER_EXECUTION, ge=1)
    deterministic: bool = Field(True, strict=True)
    task_learning_rates: dict[str, Annotated[Float, Field(ge=0)]] = Field(default_factory=dict)
    adaptive_task_learning_rates: bool = Field(False, strict=True)
    gradient_conflicts: Optional[GradientConflictsConfig] = None
    strategy: Literal["default", "mirrored", "multi_worker", "tpu"] = "default"
    mixed_precision: bool = Field(False, strict=True)
    checkpoint_every_n_steps: Optional[int] = Field(None, ge=1)
    early_stopping: Optional[EarlyStoppingConfig] = None

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value):
        import keras

        try:
            keras.optimizers.get(value)
        except ValueError:
            raise ValueError(
                "unknown optimizer; allowed: a Keras optimizer name such as adam, adamw, sgd, rmsprop"
            ) from None
        return value


class TuningRange(BaseModel):
    """A numeric search range of `tuning.space`: `min` to `max`, linear or log-uniform, with an optional `step`."""

    model_config = ConfigDict(extra="forbid", **_STRICT)

    min: Float
    max: Float
    sampling: Literal["linear", "log"] = "linear"
    step: Optional[Float] = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.max < self.min:
            raise ValueError(f"max must be >= min. Received: min={self.min}, max={self.max}")
        if self.sampling == "log" and self.min <= 0:
            raise ValueError(f"log sampling needs min > 0. Received: min={self.min}")
        return self


class TuningObjectiveConfig(BaseModel):
    """What `mtl-zoo tune` maximizes and early stopping watches by default (see `mtl_zoo.training.score`).

    `metrics` picks each task's validation metric (default: its first metric,
    else its loss), `weights` weighs the tasks (default 1); `baselines`
    (task -> {metric: single-task value}) for every task makes the objective Δm.
    """

    model_config = ConfigDict(extra="forbid", **_STRICT)

    metrics: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, Annotated[Float, Field(ge=0)]] = Field(default_factory=dict)
    baselines: dict[str, dict[str, Float]] = Field(default_factory=dict)


# A search-space entry: a fixed value, a list of choices, or a numeric range.
TuningValue = Annotated[Union[bool, int, float, str], BeforeValidator(_exponent_float)]
TuningSpec = Union[TuningRange, list[TuningValue], TuningValue]


class GroupingConfig(BaseModel):
    """How task affinity is measured for `model.groups: auto` (`mtl_zoo.tuning.grouping`).

    `steps` training steps on a shared trunk, a measurement every
    `every_n_steps`; tasks are merged while their mean affinity is above
    `threshold`, or cut into at most `num_groups` groups when it is set.
    """

    model_config = ConfigDict(extra="forbid", **_STRICT)

    steps: int = Field(200, ge=1)
    every_n_steps: int = Field(10, ge=1)
    threshold: Float = 0.0
    num_groups: Optional[int] = Field(None, ge=1)


class TuningConfig(BaseModel):
    """The `tuning:` section: the search space and objective of `mtl-zoo tune` (`mtl_zoo.tuning`).

    `space` maps a hyperparameter (`sharing`, `balancer`, `learning_rate`,
    `loss_weights`, or an option of a sharing scheme such as `shared_depth` or
    `num_experts`) to a fixed value, a list of choices or a range
    `{min, max, sampling, step}`; names left out get their defaults.
    `grouping` says how `model.groups: auto` measures task affinity.
    """

    model_config = ConfigDict(extra="forbid", **_STRICT)

    space: dict[str, TuningSpec] = Field(default_factory=dict)
    objective: TuningObjectiveConfig = Field(default_factory=TuningObjectiveConfig)
    grouping: GroupingConfig = Field(default_factory=GroupingConfig)


class Recipe(BaseModel):
    """A validated recipe."""

    model_config = ConfigDict(extra="forbid", **_STRICT)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seed: int = Field(42, ge=0, le=MAX_SEED)
    data: DataConfig
    tasks: list[TaskConfig] = Field(min_length=1)
    model: ModelConfig
    balancer: BalancerConfig = BalancerConfig()
    training: TrainingConfig
    tuning: Optional[TuningConfig] = None

    _source: str = PrivateAttr("<recipe>")

    @property
    def source(self) -> str:
        """Where the recipe came from (file and overrides), for error messages."""
        return self._source


def wants_measured_groups(recipe: Recipe) -> bool:
    """Whether the recipe is a `task_tree` with `groups: auto` (groups measured from task affinity).

    Example:

    >>> from mtl_zoo.recipes.loading import load_recipe
    >>> wants_measured_groups(load_recipe("multidigits_task_tree"))
    False
    """
    return recipe.model.sharing == "task_tree" and recipe.model.sharing_options.get("groups") == MEASURED_GROUPS


