"""The model: `MultiTaskModel`, the builders that wire trunk, sharing scheme and heads, and its update rules.

`multi_task_model.py` computes masked per-task losses and metrics and hands
the update to the rule its balancer chooses (`update_rules/`); `builders.py`
has `build_network` and `build_model`; `sharing_map.py` reads which variables
each task uses off a built network; `objective.py` the weighted objective and
its per-task terms; `reduction.py` per-task means over the global batch.
"""
