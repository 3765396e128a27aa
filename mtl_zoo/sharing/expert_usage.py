"""How much each task uses each expert: mean gate weights over a data set.

Models built with `mmoe`, `cgc`, `ple` or `dselect_k` output each task's
gate weights as `{task}_gate_weights` (for `ple`, the last level's gate;
for `cgc` and `ple` the task's own experts come first, then the shared
ones). `expert_usage` runs only those outputs over a data set and averages
them per expert.

Example:

>>> import numpy as np
>>> from mtl_zoo import InputSpec, Task, build_model
>>> from mtl_zoo.trunks.vision import vision_conv
>>> from mtl_zoo.sharing.expert_usage import expert_usage
>>> inputs = {"image": InputSpec((8, 8, 1))}
>>> model = build_model(inputs, vision_conv(inputs, filters=[4], dense_units=[8]),
...                     [Task("a", "regression"), Task("b", "regression")],
...                     sharing="mmoe", num_experts=3, expert_units=[8])
>>> usage = expert_usage(model, {"image": np.zeros((5, 8, 8, 1), "float32")})
>>> sorted(usage), usage["a"].shape, round(float(usage["a"].sum()), 5)
(['a', 'b'], (3,), 1.0)
"""

from __future__ import annotations

import keras
import numpy as np

from mtl_zoo.sharing.experts import GATE_WEIGHTS_SUFFIX as SUFFIX


def task_gates(model) -> dict:
    """Task name -> the network's gate weights tensor, for every `{task}_gate_weights` output."""
    network = getattr(model, "network", model)
    outputs = network.output if isinstance(network.output, dict) else {}
    tasks = getattr(model, "task_names", None)
    gates = {
        name[: -len(SUFFIX)]: tensor
        for name, tensor in outputs.items()
        if name.endswith(SUFFIX) and (tasks is None or name[: -len(SUFFIX)] in tasks)
    }
    if not gates:
        raise ValueError(
            "The model has no gate weights outputs ('{task}_gate_weights'); build it with a "
            f"mixture-of-experts scheme (mmoe, cgc, ple, dselect_k). Received: outputs={sorted(outputs)}"
        )
    return gates


def expert_usage(model, data, batch_size: int = 256) -> dict:
    """Returns each task's mean gate weight per expert over `data`.

    Args:
        model: `MultiTaskModel` or functional network with
            `{task}_gate_weights` outputs.
        data: dict of arrays (the model's inputs), or a `tf.data.Dataset` of
            batches of features or of `(features, labels)`.
        batch_size: int. Batch size for arrays (ignored for a data set).
            Defaults to 256.

    Returns:
        Dict task name -> `np.ndarray` of shape `[num_experts]`; each sums to 1.
    """
    gates = task_gates(model)
    network = getattr(model, "network", model)
    gate_model = keras.Model(network.input, gates)
    is_arrays = isinstance(data, dict) or isinstance(data, np.ndarray)
    weights = gate_model.predict(data, batch_size=batch_size if is_arrays else None, verbose=0)
    return {task: np.asarray(values, dtype="float64").mean(axis=0) for task, values in weights.items()}
