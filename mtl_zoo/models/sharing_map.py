"""Which variables each task uses: read off the built network, for every scheme.

A variable is *shared* when more than one task's output depends on it, and
*private* to a task when only that task's output does. Rather than trusting
layer names, the map is computed from the network itself: one forward pass
on a tiny batch of placeholder inputs under a gradient tape, then, for each
task, the variables its output is connected to (`tape.gradient` returns None
for variables off the task's path, whatever their values). Gradient
balancers, progressive freezing and `MultiTaskModel.sharing_summary()` all use
this one map.

Example:

>>> from mtl_zoo import InputSpec, Task, build_network
>>> from mtl_zoo.trunks.vision import vision_conv
>>> from mtl_zoo.models.sharing_map import variable_task_map
>>> inputs = {"image": InputSpec((8, 8, 1))}
>>> network = build_network(inputs, vision_conv(inputs, filters=[4], dense_units=[8]),
...                         [Task("a", "regression"), Task("b", "regression")], shared_depth=1)
>>> mapping = variable_task_map(network, ["a", "b"])
>>> sorted(mapping["shared_block_1/shared_block_1_conv/kernel"])
['a', 'b']
>>> sorted(mapping["a_block_2/a_block_2_dense/kernel"])
['a']
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mtl_zoo.utils.tables import format_table


def placeholder_inputs(network, batch_size: int = 2) -> dict:
    """A tiny batch of zeros (or empty strings) matching the network's inputs.

    Args:
        network: functional `keras.Model` with named inputs.
        batch_size: int. Examples in the batch. Defaults to 2.
    """
    batch = {}
    for tensor in network.inputs:
        shape = [batch_size] + [1 if size is None else size for size in tensor.shape[1:]]
        name = tensor.name
        if tensor.dtype == "string":
            batch[name] = tf.fill(shape, "")
        else:
            batch[name] = tf.zeros(shape, dtype=tensor.dtype)
    return batch


def variable_task_map(network, task_names) -> dict:
    """Returns trainable variable path -> frozenset of the tasks that depend on it.

    Args:
        network: functional `keras.Model` whose output is a dict with one
            entry per task (other outputs are ignored).
        task_names: list of str. The tasks to map.

    Returns:
        A dict over every trainable variable of the network; a variable no
        task depends on maps to an empty set.
    """
    variables = list(network.trainable_variables)
    with tf.GradientTape(persistent=True) as tape:
        outputs = network(placeholder_inputs(network), training=False)
        sums = {name: tf.reduce_sum(tf.cast(outputs[name], "float32")) for name in task_names}
    users = {variable.path: set() for variable in variables}
    for name in task_names:
        gradients = tape.gradient(sums[name], variables)
        for variable, gradient in zip(variables, gradients):
            if gradient is not None:
                users[variable.path].add(name)
    del tape
    return {path: frozenset(tasks) for path, tasks in users.items()}


def sharing_counts(network, mapping: dict, task_names) -> dict:
    """Parameter counts: "shared" (used by 2+ tasks) and one entry per task (private).

    Args:
        network: `keras.Model`. The network the map was computed for.
        mapping: dict. Output of `variable_task_map`.
        task_names: list of str.
    """
    counts = {"shared": 0, **{name: 0 for name in task_names}, "unused": 0}
    for variable in network.trainable_variables:
        size = int(np.prod(variable.shape))
        tasks = mapping.get(variable.path, frozenset())
        if len(tasks) > 1:
            counts["shared"] += size
        elif len(tasks) == 1:
            counts[next(iter(tasks))] += size
        else:
            counts["unused"] += size
    return counts


def format_sharing_table(network, mapping: dict, task_names) -> str:
    """A text table of trainable parameters shared by tasks and private to each.

    Args:
        network: `keras.Model`.
        mapping: dict. Output of `variable_task_map`.
        task_names: list of str.
    """
    counts = sharing_counts(network, mapping, task_names)
    total = sum(counts.values()) or 1
    rows = []
    for name, count in counts.items():
        if name == "unused" and not count:
            continue
        label = "shared by 2+ tasks" if name == "shared" else (name if name == "unused" else f"private to {name}")
        rows.append((label, f"{count:,}", f"{100 * count / total:.1f}%"))
    return format_table(rows, header=["parameters", "count", "share"], align=["left", "right", "right"])
