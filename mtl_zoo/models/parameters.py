"""Counting a model's weights, for metrics.json and the single-task comparison."""

from __future__ import annotations

import numpy as np


def count_parameters(model) -> int:
    """Number of weights (trainable and not) in the model."""
    return int(sum(np.prod(variable.shape) for variable in model.weights))
