"""`SharingResult`: what a sharing scheme hands back to the builder.

A sharing scheme wires the trunk's blocks between tasks. Most schemes only
return each task's features (a dict task name -> tensor, which the builder
accepts as is). Some need more, and say so through a `SharingResult`:

- **extra heads**: outputs that get a head like a task but have no label of
  their own (ESMM's conversion rate);
- **composed outputs**: a function applied to the heads' outputs that adds or
  replaces outputs (ESMM's `ctcvr = ctr * cvr`);
- **extra outputs**: tensors exposed as model outputs without any loss (an
  MMoE's gate weights), so they appear in `predict` and in the SavedModel;
- **feature maps**: each task's block outputs along its own path, shallow to
  deep, for heads that tap intermediate stages (per-pixel decoders, per-token
  heads). A scheme that reports them says so with `@reports_feature_maps`,
  so `schemes_reporting_feature_maps()` lists it (the builder's error for a
  scheme that reports none names them); a scheme that does not gives its
  heads the final features only.

Which variables each task uses is not reported by the scheme: it is read off
the built network (`mtl_zoo.models.sharing_map`), so it is right for every scheme.

A scheme whose tasks all read one shared tensor and nothing else from the
shared part (hard sharing: the last shared block's output) marks it with
`mark_shared_representation` before wiring the task-specific layers on it.
The mark is a weightless `Identity` layer named `shared_representation`, so
it is found in any built or reloaded network (`shared_representation`);
gradient balancers with `rep_grad=True` take the tasks' gradients with
respect to it. Schemes that mix shared parts per task (soft sharing, cross
stitch, mixtures of experts) have no such tensor and mark nothing.

Example:

>>> import keras
>>> from mtl_zoo.sharing.result import SharingResult, mark_shared_representation, shared_representation
>>> from mtl_zoo.sharing.result import schemes_reporting_feature_maps
>>> features = keras.Input((4,))
>>> result = SharingResult(features={"a": features}, extra_outputs={"a_gates": features})
>>> sorted(result.features), sorted(result.extra_outputs)
(['a'], ['a_gates'])
>>> marked = mark_shared_representation(features)
>>> network = keras.Model(features, {"a": keras.layers.Dense(1)(marked)})
>>> shared_representation(network) is marked
True
>>> "hard" in schemes_reporting_feature_maps()
True
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import keras

from mtl_zoo.registry import SHARING_SCHEMES

SHARED_REPRESENTATION = "shared_representation"
REPORTS_FEATURE_MAPS = "reports_feature_maps"


def reports_feature_maps(scheme):
    """Declares that a sharing scheme reports every task's feature maps; returns `scheme`.

    Put it on a scheme function whose `SharingResult.feature_maps` holds, for
    every task, the outputs of the blocks along that task's own path. The
    declaration is an attribute of the function, so a registered scheme that
    carries it is listed by `schemes_reporting_feature_maps`.

    Args:
        scheme: callable. A sharing scheme function.

    Returns:
        `scheme`, with `scheme.reports_feature_maps = True`.

    Example:

    >>> @reports_feature_maps
    ... def my_scheme(features, trunk, tasks):
    ...     return SharingResult({t.name: features for t in tasks}, feature_maps={t.name: [features] for t in tasks})
    >>> my_scheme.reports_feature_maps
    True
    """
    setattr(scheme, REPORTS_FEATURE_MAPS, True)
    return scheme


def schemes_reporting_feature_maps() -> list:
    """Names of the registered sharing schemes declared with `reports_feature_maps`, sorted."""
    return [name for name in SHARING_SCHEMES.names() if getattr(SHARING_SCHEMES.get(name), REPORTS_FEATURE_MAPS, False)]


def mark_shared_representation(tensor):
    """Marks `tensor` as the shared representation: every task's output is computed from it alone.

    Call it once per network, on the tensor the task-specific layers read.

    Args:
        tensor: Keras tensor `[batch, ...]`.

    Returns:
        The same values through an `Identity` layer named
        `shared_representation`; wire the tasks on this tensor.
    """
    return keras.layers.Identity(name=SHARED_REPRESENTATION)(tensor)


def shared_representation(network):
    """Returns the network's marked shared representation (a Keras tensor), or None.

    Args:
        network: functional `keras.Model`.
    """
    for layer in network.layers:
        if layer.name == SHARED_REPRESENTATION:
            return layer.output
    return None


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
        feature_maps: dict or None. Task name -> the outputs of the blocks
            along that task's own path through the trunk, shallow to deep
            (the last one is the task's features), so per-token and
            per-pixel heads can tap intermediate stages; the builder puts the
            stem's output in front. None when the scheme cannot report them
            (its heads then get the final features only). Defaults to None.
    """

    features: dict
    extra_heads: dict = dataclasses.field(default_factory=dict)
    compose: Optional[Callable[[dict], dict]] = None
    extra_outputs: dict = dataclasses.field(default_factory=dict)
    feature_maps: Optional[dict] = None

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
