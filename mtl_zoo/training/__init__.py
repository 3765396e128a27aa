"""Running a recipe: training and evaluation, checkpoints, divergence, callbacks and baselines.

`run.py` builds a recipe's model and trains it (`train_recipe`);
`checkpoints.py` saves and resumes runs; `divergence.py` stops a run whose task
loss is not finite; `monitoring.py` the gradient-conflict callback;
`progress.py` the epoch lines and metric tables; `learning_curves.py` the
plots; `single_task.py` the single-task baselines and `relative_performance.py`
Δm against them; `score.py` the multi-task score of validation metrics (what
`mtl-zoo tune` maximizes) and `early_stopping.py` stopping on it with the best
weights kept.
"""
