"""The search objective, kept in `mtl_zoo.training.score` (early stopping watches it too) and importable here.

Example:

>>> from mtl_zoo.tuning.score import SCORE_NAME
>>> SCORE_NAME
'multi_task_score'
"""

from mtl_zoo.training.score import SCORE_NAME, ScoreLogger, TaskObjective, primary_metric

__all__ = ["SCORE_NAME", "ScoreLogger", "TaskObjective", "primary_metric"]
