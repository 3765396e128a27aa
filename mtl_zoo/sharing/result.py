"""`SharingResult`: what a sharing scheme hands back to the builder.

A sharing scheme wires the trunk's blocks between tasks. Most schemes only
return each task's features (a dict task name -> tensor, which the builder
accepts as is). Some need more, and say so through a `SharingResult`:

- **extra heads**: outputs that get a head like a task but have no label of
  their own (ESMM's conversion rate);
- **composed outputs**: a function applied to the heads' outputs that adds or
  replaces outputs (ESMM's `ctcvr = ctr * cvr`);
- **extra outputs**: tensors exposed as model outputs without any loss (an
  MMoE's gate weights), so they appear in `predict` and in the SavedModel.

Which variables each task uses is not reported by the scheme: it is read off
the built network (`mtl_zoo.sharing_map`), so it is right for every scheme.

Example:

>>> import keras
>>> from mtl_zoo.sharing.result import SharingResult
>>> features = keras.Input((4,))
>>> result = SharingResult(features={"a": features}, extra_outputs={"a_gates": features})
>>> sorted(result.features), sorted(result.extra_outputs)
(['a'], ['a_gates'])
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional


@dataclasses.dataclass
class SharingResult:
    """Per-head features plus any outputs that are not plain task heads.

    Args:
        features: dict. Head name -> features; one entry per task that gets
            a head, plus one per extra head.
        extra_heads: dict. Name -> `Task` describing a head with no label
            (its kind gives the activation and width). Defaults to none.
        compose: callable or None. `compose(outputs)` takes the dict of head
            outputs and returns the final dict of outputs (every task must be
            in it). Defaults to None (the head outputs are final).
        extra_outputs: dict. Name -> tensor exposed as an output with no
            loss (e.g. gate weights). Defaults to none.
    """

    features: dict
    extra_heads: dict = dataclasses.field(default_factory=dict)
    compose: Optional[Callable[[dict], dict]] = None
    extra_outputs: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, value) -> "SharingResult":
        """Returns `value` if it is a `SharingResult`, else wraps a features dict."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls(features=dict(value))
        raise TypeError(
            "A sharing scheme must return a dict task name -> features or a SharingResult. "
            f"Received: {type(value).__name__}"
        )
