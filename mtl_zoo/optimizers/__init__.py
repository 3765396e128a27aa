"""Optimizers the zoo adds: per-task learning rates (`task_learning_rates.py`)."""
