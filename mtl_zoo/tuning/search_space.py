"""The search space of a recipe: which sharing schemes, depths, balancers, loss weights and learning rates to try.

`SearchSpace(recipe)` works out, once, what can be built for the recipe's
trunk and data: every registered sharing scheme that builds with its default
options (the recipe's own scheme with the recipe's options), the
`shared_depth` values each of those schemes accepts on this trunk (0 to the
trunk's number of blocks, minus those a scheme refuses), and every balancer
that builds for the recipe's tasks. Schemes and balancers that cannot be
built are left out (`skipped` says why). `declare(hp)` then declares the
hyperparameters on a KerasTuner `HyperParameters` object and returns the
`TrialSettings` of one trial:

- `sharing`: a choice among the buildable schemes;
- each scheme's options (`{scheme}/shared_depth`, `{scheme}/num_experts`, ...)
  under a conditional scope, so `num_experts` only exists for expert schemes;
- `balancer`: a choice among the buildable balancers;
- `loss_weight_{task}`: log-uniform from 0.1 to 10 per task;
- `learning_rate`: log-uniform from 1e-4 to 1e-2.

The recipe's `tuning.space` replaces any default: a value fixes it
(`hp.Fixed`), a list is a choice, `{min, max, sampling, step}` a range;
`loss_weights` applies to every task and a scheme option applies to every
scheme that takes it. Values fixed on the `HyperParameters` object the tuner
is given (`hp.Fixed`) win over both.
Each hyperparameter defaults to the recipe's own value where its range
holds it, so the default hyperparameters rebuild the recipe.

Example:

>>> import keras_tuner
>>> from mtl_zoo.recipes.loading import load_recipe
>>> space = SearchSpace(load_recipe("recipes/multidigits_hard.yaml"))  # doctest: +SKIP
>>> settings = space.declare(keras_tuner.HyperParameters())  # doctest: +SKIP
>>> settings.sharing  # doctest: +SKIP
'cgc'
"""

from __future__ import annotations

import dataclasses
import inspect

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.schema import TuningRange
from mtl_zoo.registry import BALANCERS, SHARING_SCHEMES, TRUNKS

DEFAULT_LOSS_WEIGHTS = TuningRange(min=0.1, max=10.0, sampling="log")
DEFAULT_LEARNING_RATE = TuningRange(min=1e-4, max=1e-2, sampling="log")
# Default ranges of sharing-scheme options, declared for each scheme whose builder takes them.
DEFAULT_SCHEME_OPTIONS = {
    "num_experts": TuningRange(min=2, max=8),
    "num_shared_experts": TuningRange(min=1, max=4),
    "num_task_experts": TuningRange(min=1, max=2),
}
# Names of `tuning.space` that are not options of a sharing scheme.
GLOBAL_NAMES = ("sharing", "balancer", "learning_rate", "loss_weights")


@dataclasses.dataclass
class TrialSettings:
    """What one trial changes in the recipe.

    Args:
        sharing: str. The sharing scheme.
        sharing_options: dict. Its options (the recipe's, then the searched ones).
        balancer: str. The balancer.
        balancer_options: dict. Its options (the recipe's when it is the recipe's balancer).
        loss_weights: dict. Task name -> loss weight.
        learning_rate: float.
    """

    sharing: str
    sharing_options: dict
    balancer: str
    balancer_options: dict
    loss_weights: dict
    learning_rate: float


def scheme_parameters(scheme: str) -> list:
    """Keyword options of a registered sharing scheme's builder (after features, trunk, tasks)."""
    builder = SHARING_SCHEMES.get(scheme)
    return list(inspect.signature(builder).parameters)[3:]


def required_scheme_options(scheme: str) -> list:
    """Options a registered sharing scheme's builder needs a value for (they have no default)."""
    parameters = list(inspect.signature(SHARING_SCHEMES.get(scheme)).parameters.values())[3:]
    return [parameter.name for parameter in parameters if parameter.default is inspect.Parameter.empty
            and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]


def _builds(recipe) -> str:
    """'' when the recipe's model builds (without reading data), else why not, in a user's words."""
    from mtl_zoo.errors import RecipeError
    from mtl_zoo.training.run import build_model_from_recipe

    try:
        build_model_from_recipe(recipe, adapt=False)
    except RecipeError as error:  # the recipe file and field are the search's, not the user's: keep the reason
        message = str(error)
        prefix = f"{error.source}: {error.field}: " if error.field else f"{error.source}: "
        return " ".join((message[len(prefix):] if message.startswith(prefix) else message).split())
    except (ValueError, TypeError) as error:
        return f"it does not build with its default options ({' '.join(str(error).split())})"
    return ""


def with_settings(recipe, settings: TrialSettings):
    """A copy of `recipe` with a trial's settings applied (the original is unchanged).

    Args:
        recipe: `Recipe`.
        settings: `TrialSettings`.

    Returns:
        A `Recipe` (a deep `model_copy`).
    """
    copy = recipe.model_copy(deep=True)
    copy.model.sharing = settings.sharing
    copy.model.__pydantic_extra__ = dict(settings.sharing_options)
    copy.balancer.name = settings.balancer
    copy.balancer.__pydantic_extra__ = dict(settings.balancer_options)
    for task in copy.tasks:
        task.loss_weight = float(settings.loss_weights.get(task.name, task.loss_weight))
    copy.training.learning_rate = float(settings.learning_rate)
    copy._source = recipe.source
    return copy


def _declare(hp, name: str, spec, integer: bool = False, default=None):
    """Declares one hyperparameter from a `tuning.space` entry; returns its value.

    `default` (the recipe's value) is the hyperparameter's default when the
    entry allows it.
    """
    if isinstance(spec, TuningRange):
        inside = default is not None and spec.min <= default <= spec.max and not spec.step
        if integer:
            step = int(spec.step) if spec.step else 1
            return hp.Int(name, int(spec.min), int(spec.max), step=step, sampling=spec.sampling,
                          default=int(default) if inside else None)
        if spec.min == spec.max:
            return hp.Fixed(name, float(spec.min))
        return hp.Float(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling,
                        default=float(default) if inside else None)
    if isinstance(spec, list):
        if len(spec) == 1:
            return hp.Fixed(name, spec[0])
        return hp.Choice(name, spec, default=default if default in spec else None)
    return hp.Fixed(name, spec)


def _allowed_values(spec, buildable: list) -> list:
    """The buildable integer values a `tuning.space` entry (or None: all of them) allows."""
    if spec is None:
        return list(buildable)
    if isinstance(spec, TuningRange):
        step = int(spec.step) if spec.step else 1
        return [value for value in buildable if spec.min <= value <= spec.max and (value - int(spec.min)) % step == 0]
    values = spec if isinstance(spec, list) else [spec]
    return [value for value in buildable if value in values]


class SearchSpace:
    """What can be tried for a recipe, and how to declare it on KerasTuner hyperparameters.

    Args:
        recipe: `Recipe`. Its `tuning.space` (if any) narrows or fixes the defaults.

    Raises:
        RecipeError: a `tuning.space` entry names nothing searchable, or
            leaves no scheme or balancer that builds.
    """

    def __init__(self, recipe):
        self.recipe = recipe
        self.space = dict(recipe.tuning.space) if recipe.tuning else {}
        self.skipped = {}  # name -> why it cannot be built
        self.num_blocks = self._num_blocks()
        self.schemes = self._buildable_schemes()
        self.depths = {scheme: self._buildable_depths(scheme) for scheme in self.schemes
                       if "shared_depth" in scheme_parameters(scheme)}
        self.balancers = self._buildable_balancers()
        self._check_names()

    # === Probing ===
    def _num_blocks(self) -> int:
        from mtl_zoo.data.tables.files import recipe_data_source

        model = self.recipe.model
        return TRUNKS.get(model.trunk)(recipe_data_source(self.recipe).inputs, **model.trunk_options).num_blocks

    def base_options(self, scheme: str) -> dict:
        """Options a scheme starts from: the recipe's for its own scheme, else the defaults (none)."""
        return dict(self.recipe.model.sharing_options) if scheme == self.recipe.model.sharing else {}

    def _settings(self, sharing=None, options=None, balancer=None) -> TrialSettings:
        recipe = self.recipe
        sharing = sharing or recipe.model.sharing
        balancer = balancer or recipe.balancer.name
        return TrialSettings(
            sharing=sharing,
            sharing_options=self.base_options(sharing) if options is None else options,
            balancer=balancer,
            balancer_options=dict(recipe.balancer.options) if balancer == recipe.balancer.name else {},
            loss_weights={task.name: task.loss_weight for task in recipe.tasks},
            learning_rate=recipe.training.learning_rate,
        )

    def _buildable_schemes(self) -> list:
        wanted = self.space.get("sharing", SHARING_SCHEMES.names())
        wanted = wanted if isinstance(wanted, list) else [wanted]
        schemes = []
        for scheme in wanted:
            if scheme not in SHARING_SCHEMES:
                raise RecipeError(self.recipe.source, "tuning.space.sharing",
                                  f"unknown sharing scheme; allowed: {', '.join(SHARING_SCHEMES.names())}. "
                                  f"Received: {scheme!r}")
            needed = [name for name in required_scheme_options(scheme) if name not in self.base_options(scheme)]
            if needed:
                self.skipped[f"sharing={scheme}"] = (
                    f"it needs {' and '.join(needed)}, which have no default to search around; to search it, make "
                    f"it the recipe's model.sharing and set {' and '.join(needed)} there")
                continue
            problem = _builds(with_settings(self.recipe, self._settings(sharing=scheme)))
            if problem:
                self.skipped[f"sharing={scheme}"] = problem
            else:
                schemes.append(scheme)
        if not schemes:
            raise RecipeError(self.recipe.source, "tuning.space.sharing",
                              f"no sharing scheme builds for this recipe ({'; '.join(self.skipped.values())}). "
                              f"Received: {wanted}")
        return schemes

    def _buildable_depths(self, scheme: str) -> list:
        depths = []
        for depth in range(self.num_blocks + 1):
            options = {**self.base_options(scheme), "shared_depth": depth}
            if not _builds(with_settings(self.recipe, self._settings(sharing=scheme, options=options))):
                depths.append(depth)
        return depths

    def _buildable_balancers(self) -> list:
        wanted = self.space.get("balancer", BALANCERS.names())
        wanted = wanted if isinstance(wanted, list) else [wanted]
        balancers = []
        for name in wanted:
            if name not in BALANCERS:
                raise RecipeError(self.recipe.source, "tuning.space.balancer",
                                  f"unknown balancer; allowed: {', '.join(BALANCERS.names())}. Received: {name!r}")
            problem = _builds(with_settings(self.recipe, self._settings(balancer=name)))
            if problem:
                self.skipped[f"balancer={name}"] = problem
            else:
                balancers.append(name)
        if not balancers:
            raise RecipeError(self.recipe.source, "tuning.space.balancer",
                              f"no balancer builds for this recipe. Received: {wanted}")
        return balancers

    def _check_names(self) -> None:
        options = {name for scheme in self.schemes for name in scheme_parameters(scheme)}
        for name in self.space:
            if name not in GLOBAL_NAMES and name not in options:
                raise RecipeError(
                    self.recipe.source, f"tuning.space.{name}",
                    f"not a searchable name; allowed: {', '.join(GLOBAL_NAMES)} or an option of the schemes "
                    f"searched ({', '.join(sorted(options))}). Received: {name!r}",
                )

    # === Declaring ===
    def _scheme_options(self, hp, scheme: str) -> dict:
        options = self.base_options(scheme)
        with hp.name_scope(scheme):
            for name in scheme_parameters(scheme):
                if name == "shared_depth":
                    depths = _allowed_values(self.space.get(name), self.depths.get(scheme, []))
                    given = options.get(name)
                    default = given if given in depths else None
                    if len(depths) > 1:
                        options[name] = hp.Int(name, min(depths), max(depths), default=default) if depths == list(
                            range(min(depths), max(depths) + 1)) else hp.Choice(name, depths, default=default)
                    elif depths:
                        options[name] = hp.Fixed(name, depths[0])
                    continue
                spec = self.space.get(name, DEFAULT_SCHEME_OPTIONS.get(name))
                if spec is not None:
                    integer = name.startswith("num_") or name == "shared_depth"
                    options[name] = _declare(hp, name, spec, integer=integer, default=options.get(name))
        return options

    def declare(self, hp) -> TrialSettings:
        """Declares the hyperparameters on `hp` and returns the trial's settings.

        Args:
            hp: `keras_tuner.HyperParameters`.

        Returns:
            A `TrialSettings`.
        """
        recipe = self.recipe
        sharing = _declare(hp, "sharing", self.schemes, default=recipe.model.sharing)
        options = {}
        for scheme in self.schemes:
            with hp.conditional_scope("sharing", [scheme]):
                scheme_options = self._scheme_options(hp, scheme)
            if scheme == sharing:
                options = scheme_options
        balancer = _declare(hp, "balancer", self.balancers, default=recipe.balancer.name)
        weights_spec = self.space.get("loss_weights", DEFAULT_LOSS_WEIGHTS)
        loss_weights = {task.name: _declare(hp, f"loss_weight_{task.name}", weights_spec, default=task.loss_weight)
                        for task in recipe.tasks}
        learning_rate = _declare(hp, "learning_rate", self.space.get("learning_rate", DEFAULT_LEARNING_RATE),
                                 default=recipe.training.learning_rate)
        settings = self._settings(sharing=sharing, options=options, balancer=balancer)
        settings.loss_weights, settings.learning_rate = loss_weights, learning_rate
        return settings
