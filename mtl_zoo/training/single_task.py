"""Single-task baselines of a recipe, and Δm of its multi-task model against them.

A multi-task model is worth its sharing when it beats one model per task
trained alone on the same budget. `train_single_task_baselines(recipe)`
trains, for each task of the recipe, a model with only that task: the same
data, trunk and trunk options, the same sharing scheme and its options when
the scheme can model a single task (an MMoE with one task is one gate over
the same experts), otherwise hard sharing (ESMM needs its click and
conversion tasks together), and the same training plan (epochs, batch size,
optimizer, learning rate, seed). A single task has nothing to be balanced
against, so its model trains with the `fixed` balancer and loss weight 1,
without feature-alignment terms, per-task learning rates or gradient-conflict
monitoring. `delta_m` (see
`mtl_zoo.training.relative_performance`) then compares the multi-task model with
these baselines on each task's primary metric, the first one it names.

Example:

>>> from mtl_zoo.recipes.loading import load_recipe
>>> from mtl_zoo.training.run import train_recipe
>>> recipe = load_recipe("recipes/movielens_mmoe.yaml", ["training.epochs=1"])  # doctest: +SKIP
>>> baselines = train_single_task_baselines(recipe)  # doctest: +SKIP
>>> report = baselines.report(train_recipe(recipe))  # doctest: +SKIP
>>> sorted(report["single_task"]), report["delta_m"] > -100  # doctest: +SKIP
(['liked', 'rating'], True)
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.schema import MULTI_TASK_SCORE
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.training.relative_performance import delta_m, relative_improvement
from mtl_zoo.utils.tables import format_table

FALLBACK_SHARING = "hard"


@dataclasses.dataclass
class SingleTaskPlan:
    """How one task's single-task model is made.

    Args:
        task: str. The task's name.
        recipe: `Recipe`. The recipe with only that task.
        sharing: str. The sharing scheme its model uses.
        note: str. Why the scheme differs from the multi-task recipe's,
            or "" when it is the same.
    """

    task: str
    recipe: object
    sharing: str
    note: str = ""


def _single_task_document(recipe, task_name: str, keep_sharing: bool) -> dict:
    """The recipe as plain data with only `task_name`, weighted 1 under the fixed balancer, one learning rate."""
    document = recipe.model_dump(mode="json")
    (task,) = [entry for entry in document["tasks"] if entry["name"] == task_name]
    document["tasks"] = [{**task, "loss_weight": 1.0}]
    document["name"] = f"{recipe.name}.single_task.{task_name}"
    document["balancer"] = {"name": "fixed"}
    document["training"] = {**document["training"], "task_learning_rates": {}, "adaptive_task_learning_rates": False,
                            "gradient_conflicts": None}
    stopping = document["training"].get("early_stopping")
    if stopping and stopping["monitor"].startswith("val_") and stopping["monitor"] != "val_loss" \
            and not stopping["monitor"].startswith(f"val_{task_name}_"):
        document["training"]["early_stopping"] = {**stopping, "monitor": MULTI_TASK_SCORE}  # it watched another task
    objective = (document.get("tuning") or {}).get("objective")
    if objective:  # the score of this task alone
        document["tuning"]["objective"] = {field: {name: value for name, value in entries.items() if name == task_name}
                                           for field, entries in objective.items()}
    model = document["model"]
    wide = model.get("wide")
    if wide is not None:  # the task keeps its wide path, if it had one
        model["wide"] = None if wide.get("tasks") and task_name not in wide["tasks"] else {**wide, "tasks": None}
    if keep_sharing:
        model["feature_alignment"] = None
    else:
        document["model"] = {"trunk": model["trunk"], "trunk_options": model["trunk_options"],
                             "sharing": FALLBACK_SHARING, "wide": model.get("wide")}
    return document


def single_task_plan(recipe, task_name: str) -> SingleTaskPlan:
    """The single-task recipe of `task_name`: the recipe's scheme if it takes one task, else hard sharing.

    Args:
        recipe: `Recipe`. A validated multi-task recipe.
        task_name: str. One of its tasks.

    Returns:
        A `SingleTaskPlan`.

    Example:

    >>> plan = single_task_plan(load_recipe("recipes/movielens_impressions_esmm.yaml"), "ctr")  # doctest: +SKIP
    >>> plan.sharing, plan.note.split(";")[0]  # doctest: +SKIP
    ('hard', "sharing 'esmm' cannot model a single task")
    """
    from mtl_zoo.training.run import build_model_from_recipe

    if task_name not in [task.name for task in recipe.tasks]:
        raise ValueError(f"The recipe has no task {task_name!r}; its tasks: "
                         f"{', '.join(task.name for task in recipe.tasks)}. Received: task_name={task_name!r}")
    source = f"{recipe.source} (single-task model of '{task_name}')"
    single = validate_recipe(_single_task_document(recipe, task_name, keep_sharing=True), source)
    try:
        build_model_from_recipe(single, adapt=False)  # reads no data; only asks the scheme to wire one task
        return SingleTaskPlan(task_name, single, recipe.model.sharing)
    except RecipeError as error:
        reason = str(error).removeprefix(f"{source}: ")
    fallback = validate_recipe(_single_task_document(recipe, task_name, keep_sharing=False), source)
    note = (f"sharing '{recipe.model.sharing}' cannot model a single task; its single-task model uses "
            f"'{FALLBACK_SHARING}' sharing of the same trunk ({reason})")
    return SingleTaskPlan(task_name, fallback, FALLBACK_SHARING, note)


def primary_metrics(model) -> dict:
    """Task name -> its primary metric: the first metric the task names (its kind's default if none).

    Example:

    >>> primary_metrics(result.model)  # doctest: +SKIP
    {'rating': 'rmse', 'liked': 'auc'}
    """
    return {task.name: task.metrics[0] for task in model.tasks if task.metrics}


@dataclasses.dataclass
class SingleTaskBaselines:
    """The single-task models of a recipe, trained.

    Args:
        plans: dict. Task name -> `SingleTaskPlan`.
        results: dict. Task name -> `TrainingResult` of its single-task model.
    """

    plans: dict
    results: dict

    @property
    def test_metrics(self) -> dict:
        """Task name -> {metric: value} of its single-task model on the test split."""
        return {task: result.test_metrics[task] for task, result in self.results.items()}

    def report(self, multi_task_result) -> dict:
        """The `metrics.json` fields comparing the multi-task model with these baselines.

        Args:
            multi_task_result: `TrainingResult` of the recipe's multi-task model.

        Returns:
            `{"single_task": task -> {metric: value}, "delta_m": float (percent),
            "delta_m_metrics": task -> primary metric, "single_task_models":
            task -> {"sharing", "parameters", "train_seconds", "note"}}`.
        """
        from mtl_zoo.models.parameters import count_parameters

        metrics = primary_metrics(multi_task_result.model)
        return {
            "single_task": self.test_metrics,
            "delta_m": delta_m(multi_task_result.test_metrics, self.test_metrics, metrics),
            "delta_m_metrics": metrics,
            "single_task_models": {
                task: {
                    "sharing": self.plans[task].sharing,
                    "parameters": count_parameters(result.model),
                    "train_seconds": round(result.train_seconds, 3),
                    "note": self.plans[task].note,
                }
                for task, result in self.results.items()
            },
        }


def train_single_task_baselines(recipe, callbacks: Optional[Callable] = None) -> SingleTaskBaselines:
    """Trains one model per task of `recipe` with the same trunk, options and budget.

    Each model is built, trained and evaluated by `mtl_zoo.training.run.train_recipe`
    from its `single_task_plan`. Nothing is saved.

    Args:
        recipe: `Recipe`. A validated multi-task recipe.
        callbacks: callable or None. `callbacks(plan)` returns the Keras
            callbacks for that task's `fit` (e.g. progress printing).
            Defaults to None (no callbacks).

    Returns:
        A `SingleTaskBaselines`.

    Example:

    >>> baselines = train_single_task_baselines(load_recipe("recipes/loans_mmoe.yaml"))  # doctest: +SKIP
    >>> baselines.test_metrics["grade"]["accuracy"] > 0.5  # doctest: +SKIP
    True
    """
    from mtl_zoo.training.run import train_recipe

    plans, results = {}, {}
    for task in recipe.tasks:
        plan = single_task_plan(recipe, task.name)
        plans[task.name] = plan
        results[task.name] = train_recipe(plan.recipe, callbacks=list(callbacks(plan)) if callbacks else [])
    return SingleTaskBaselines(plans, results)


def format_comparison_table(report: dict, multi_task_metrics: dict) -> str:
    """Multi-task vs single-task on each task's primary metric, the change, and Δm, as text.

    Args:
        report: dict. What `SingleTaskBaselines.report` returned.
        multi_task_metrics: dict. Task -> {metric: value} of the multi-task model.

    Example:

    >>> print(format_comparison_table(
    ...     {"single_task": {"a": {"rmse": 1.0}}, "delta_m": 10.0, "delta_m_metrics": {"a": "rmse"}},
    ...     {"a": {"rmse": 0.9}}))
    task  metric  multi-task  single-task  change
    a     rmse    0.9000      1.0000       +10.00%
    Δm = +10.00% (mean change over tasks; positive: the multi-task model is better)
    """
    rows = []
    for task, metric in report["delta_m_metrics"].items():
        multi, single = multi_task_metrics[task][metric], report["single_task"][task][metric]
        rows.append([task, metric, f"{multi:.4f}", f"{single:.4f}",
                     f"{relative_improvement(multi, single, metric):+.2f}%"])
    table = format_table(rows, header=["task", "metric", "multi-task", "single-task", "change"])
    return table + f"\nΔm = {report['delta_m']:+.2f}% (mean change over tasks; positive: the multi-task model is better)"
