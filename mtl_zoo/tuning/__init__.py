"""Hyperparameter search over a recipe (KerasTuner) and task grouping from measured task affinity.

- `search_space`: what a search may try for a recipe (schemes, depths, balancers, loss weights, learning rate).
- `hypermodel`: `RecipeHyperModel`, the recipe's model from hyperparameters.
- `objective`: `TaskObjective`, the per-task score a search maximizes (or Δm).
- `pareto`: the Pareto front over tasks.
- `tuners`, `results`, `plots`, `search`: the `mtl-zoo tune` command's parts.
- `affinity`, `grouping`: the `mtl-zoo group` command's parts.

Example:

>>> from mtl_zoo.tuning import RecipeHyperModel  # doctest: +SKIP
"""

from mtl_zoo.tuning.hypermodel import RecipeHyperModel
from mtl_zoo.training.score import TaskObjective
from mtl_zoo.tuning.pareto import pareto_flags
from mtl_zoo.tuning.search_space import SearchSpace

__all__ = ["RecipeHyperModel", "SearchSpace", "TaskObjective", "pareto_flags"]
