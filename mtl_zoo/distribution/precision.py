"""Mixed precision for one build: the layers compute in 16 bits, variables and heads stay float32.

`mixed_precision_scope` sets Keras' dtype policy while a model is built and
puts the previous one back afterwards, so building a mixed-precision model
changes no process-wide setting. Every layer records its policy in its
config, so a saved model reloads with the same precision. Heads' output
layers are float32 (`mtl_zoo.tasks.task.build_head`), so losses, metrics and balancers see
float32 outputs; with `mixed_float16` Keras wraps the optimizer in a
`LossScaleOptimizer` and `MultiTaskModel` scales every loss it
differentiates, per-task gradients included (`MultiTaskModel.train_step`).

Example:

>>> import keras
>>> with mixed_precision_scope("mixed_bfloat16"):
...     layer = keras.layers.Dense(2)
>>> layer.compute_dtype, layer.variable_dtype, keras.config.dtype_policy().name
('bfloat16', 'float32', 'float32')
"""

from __future__ import annotations

import contextlib
from typing import Optional

import keras
import tensorflow as tf


def mixed_precision_policy() -> str:
    """The mixed policy for this machine: "mixed_float16" with a GPU, else "mixed_bfloat16" (CPU, TPU)."""
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def mixed_precision_scope(policy: Optional[str]):
    """Builds layers under dtype policy `policy` inside the block (None: leave the policy alone).

    Args:
        policy: str or None. A Keras dtype policy name such as
            "mixed_bfloat16" or "mixed_float16".
    """
    if policy is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
