"""Builders: trunk + sharing scheme + heads -> one multi-output Keras model.

Example:

>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.vision import vision_conv
>>> from mtl_zoo.models.builders import build_network
>>> inputs = {"image": InputSpec((12, 20, 1))}
>>> tasks = [Task("left_digit", "classification", 10), Task("right_digit", "classification", 10)]
>>> network = build_network(inputs, vision_conv(inputs, filters=[8], dense_units=[16]), tasks,
...                         sharing="hard", shared_depth=1)
>>> sorted(network.output)
['left_digit', 'right_digit']
"""

from __future__ import annotations

import keras

from mtl_zoo.tasks.kinds.base import FeatureMapError
from mtl_zoo.tasks.task import build_head
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.alignment import apply_feature_alignment
from mtl_zoo.sharing.result import SharingResult, schemes_reporting_feature_maps
from mtl_zoo.tasks.task import check_unique_names


def build_inputs(input_specs: dict) -> dict:
    """Returns a dict of `keras.Input` named after the input specs."""
    return {
        name: keras.Input(shape=tuple(spec.shape), dtype=spec.dtype, name=name)
        for name, spec in input_specs.items()
    }


def build_network(
    input_specs, trunk, tasks, sharing="hard", name="multi_task_network", feature_alignment=None, wide=None,
    **options
):
    """Builds the functional multi-output network.

    The sharing scheme returns each task's features (or a `SharingResult`
    with extra heads, composed outputs, outputs without a loss and feature
    maps); every head gets a fresh head named after it, built by its task's
    kind from its features and, when the scheme reports them, its feature
    maps (the stem's output, then the block outputs along its path).

    Args:
        input_specs: dict. Input name -> `InputSpec`.
        trunk: `Trunk`. Stem and block factories.
        tasks: list of `Task`.
        sharing: str or callable. A registered sharing scheme, or a scheme
            function `scheme(features, trunk, tasks, **options)`. Defaults
            to "hard".
        name: str. Name of the Keras model. Defaults to "multi_task_network".
        feature_alignment: dict, list of dicts or None. Alignment terms
            `{"tasks": [source, target], "weight": w}` between two tasks'
            features, with any scheme (see `mtl_zoo.sharing.alignment`).
            Defaults to None.
        **options: options of the sharing scheme (e.g. `shared_depth`).

    Returns:
        A functional `keras.Model` whose output is a dict keyed by task name
        (plus any outputs the scheme adds without a loss).
    """
    check_unique_names(tasks)
    inputs = build_inputs(input_specs)
    scheme = sharing if callable(sharing) else SHARING_SCHEMES.get(sharing)
    stem = trunk.stem(inputs)
    result = SharingResult.of(scheme(stem, trunk, tasks, **options))
    result.features = apply_feature_alignment(result.features, feature_alignment)
    heads = {task.name: task for task in tasks if task.name in result.features}
    heads.update(result.extra_heads)
    wide_heads, wide_features = (), None
    if wide is not None:
        wide_heads = wide.heads(heads, _scheme_name(sharing))
        wide_features = wide.encode(inputs)
    outputs = {}
    for name, head in heads.items():
        maps = (result.feature_maps or {}).get(name)
        wide_logits = wide.logits(head, wide_features) if name in wide_heads else None
        try:
            outputs[name] = build_head(head, result.features[name], None if maps is None else [stem, *maps],
                                       wide_logits=wide_logits)
        except FeatureMapError as error:
            scheme_name = _scheme_name(sharing)
            reported = "reports no feature maps" if maps is None else "reports no such map for it"
            raise FeatureMapError(f"{error} Sharing scheme '{scheme_name}' {reported}; use a scheme that reports "
                                  f"them ({', '.join(schemes_reporting_feature_maps())}). "
                                  f"Received: sharing={scheme_name!r}") from None
    if result.compose is not None:
        outputs = dict(result.compose(outputs))
    missing = [task.name for task in tasks if task.name not in outputs]
    if missing:
        raise ValueError(
            f"Sharing scheme '{sharing}' produced no output for tasks {missing}. "
            f"Received: outputs={sorted(outputs)}"
        )
    clashes = sorted(set(result.extra_outputs) & set(outputs))
    if clashes:
        raise ValueError(
            f"Sharing scheme '{sharing}' adds outputs named like tasks or heads: {clashes}. "
            f"Received: extra_outputs={sorted(result.extra_outputs)}"
        )
    outputs.update(result.extra_outputs)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def _scheme_name(sharing) -> str:
    return sharing if isinstance(sharing, str) else getattr(sharing, "__name__", repr(sharing))


def build_model(
    input_specs,
    trunk,
    tasks,
    sharing="hard",
    balancer=None,
    name="multi_task_model",
    feature_alignment=None,
    wide=None,
    **options,
):
    """Builds a trainable `MultiTaskModel` around `build_network`.

    Args:
        input_specs: dict. Input name -> `InputSpec`.
        trunk: `Trunk`. Stem and block factories.
        tasks: list of `Task`.
        sharing: str. A registered sharing scheme. Defaults to "hard".
        balancer: `Balancer`, str or None. How task losses are combined; a
            string names a registered balancer. Defaults to fixed weights.
        name: str. Name of the model. Defaults to "multi_task_model".
        feature_alignment: dict, list of dicts or None. Feature-alignment
            terms between tasks (see `build_network`). Defaults to None.
        wide: `WidePath` or None. An adapted wide path whose per-task linear
            logits join the heads' (wide & deep, see `build_network`).
            Defaults to None.
        **options: options of the sharing scheme (e.g. `shared_depth`).

    Returns:
        A `MultiTaskModel`; compile it with an optimizer and call `fit`.

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> from mtl_zoo.tasks.task import Task
    >>> from mtl_zoo.trunks.vision import vision_conv
    >>> inputs = {"image": InputSpec((12, 20, 1))}
    >>> model = build_model(inputs, vision_conv(inputs, filters=[8], dense_units=[16]),
    ...                     [Task("left_digit", "classification", 10)], shared_depth=1)
    >>> model.compile(optimizer="adam")
    """
    from mtl_zoo.models.multi_task_model import MultiTaskModel

    network = build_network(
        input_specs, trunk, tasks, sharing=sharing, feature_alignment=feature_alignment, wide=wide, **options
    )
    return MultiTaskModel(network, tasks, balancer=balancer, name=name)
