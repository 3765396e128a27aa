"""Tasks: the `Task` spec, its kinds, label splitting, per-task losses, metrics and label checks.

`task.py` holds `Task` and `build_head`; `kinds/` one module per `TaskKind`
(head, label layout and rule, loss values, metrics); `labels.py` the missing
and invalid label masks; `losses.py` and `metrics.py` the per-task losses and
metrics that skip missing labels; `label_checks.py` stops `fit` on labels a task
cannot have.
"""
