"""Entire-space multi-task model (ESMM): pCTCVR = pCTR x pCVR over all impressions.

Two binary tasks observed on every impression: a click (CTR) and a click
followed by a conversion (CTCVR). A CTR tower and a CVR tower share the
bottom of the network (the stem, e.g. the embeddings, and the first
`shared_depth` trunk blocks); the towers are copies of the remaining blocks.
The CTR head is trained on click labels; the CVR head has no label of its
own and is trained only through the product `ctcvr = ctr * cvr` on the
CTCVR labels, which avoids the sample selection bias of training CVR on
clicked impressions only (Ma et al. SIGIR 2018,
https://arxiv.org/abs/1804.07931). The CVR probability is an output of the
model (in `predict` and the SavedModel) without a loss.

Layers: `shared_block_{i}`, the CTR tower `{ctr}_block_{i}` and head `{ctr}`,
the CVR tower `{cvr}_block_{i}` and head `{cvr}`, and the product `{ctcvr}`.

Options:
    shared_depth: int. Leading trunk blocks shared by both towers.
        Defaults to 0 (only the stem is shared, as in the paper).
    ctr_task: str or None. The click task. Defaults to the first task.
    ctcvr_task: str or None. The click-and-convert task. Defaults to the
        other task.
    cvr_output: str. Name of the unlabelled CVR output. Defaults to "cvr".

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> from mtl_zoo.trunks.base import Trunk
>>> from mtl_zoo.sharing.esmm import esmm
>>> trunk = Trunk([lambda p: keras.layers.Dense(4, name=f"{p}_dense")] * 2)
>>> tasks = [Task("click", "binary"), Task("purchase", "binary")]
>>> result = esmm(keras.Input((3,)), trunk, tasks, shared_depth=1)
>>> sorted(result.features), sorted(result.extra_heads)
(['click', 'cvr'], ['cvr'])
"""

from __future__ import annotations

from typing import Optional

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import SHARING_SCHEMES
from mtl_zoo.sharing.hard import check_depth
from mtl_zoo.sharing.result import SharingResult
from mtl_zoo.tasks.task import Task


def esmm_roles(tasks, ctr_task: Optional[str], ctcvr_task: Optional[str]) -> tuple:
    """Returns `(ctr, ctcvr)` tasks; raises `OptionError` unless they are two binary tasks."""
    described = [f"{task.name} ({task.kind})" for task in tasks]
    if len(tasks) != 2 or any(task.kind != "binary" for task in tasks):
        raise OptionError(
            "sharing",
            "esmm models exactly two binary tasks: a click (CTR) and a click followed by a "
            "conversion (CTCVR), both labelled on every impression. Use another sharing scheme "
            f"for other tasks. Received: tasks {described}",
        )
    by_name = {task.name: task for task in tasks}
    for option, value in (("ctr_task", ctr_task), ("ctcvr_task", ctcvr_task)):
        if value is not None and value not in by_name:
            raise OptionError(option, f"{option} must name one of the tasks {sorted(by_name)}. Received: {option}={value!r}")
    if ctr_task is not None and ctr_task == ctcvr_task:
        raise OptionError("ctcvr_task", f"ctr_task and ctcvr_task must differ. Received: both {ctr_task!r}")
    if ctr_task is None:
        ctr_task = next(name for name in by_name if name != ctcvr_task) if ctcvr_task else tasks[0].name
    if ctcvr_task is None:
        ctcvr_task = next(name for name in by_name if name != ctr_task)
    return by_name[ctr_task], by_name[ctcvr_task]


@SHARING_SCHEMES.register("esmm")
def esmm(
    features,
    trunk,
    tasks,
    shared_depth: int = 0,
    ctr_task: Optional[str] = None,
    ctcvr_task: Optional[str] = None,
    cvr_output: str = "cvr",
) -> SharingResult:
    """A CTR tower and an unlabelled CVR tower; the CTCVR task's output is their product.

    Args:
        features: Keras tensor. Output of the trunk's stem.
        trunk: `Trunk`. Supplies the block factories.
        tasks: list of two binary `Task`s.
        shared_depth: int. Leading blocks shared by both towers, from 0 to
            the trunk's number of blocks. Defaults to 0.
        ctr_task: str or None. Name of the click task. Defaults to the
            first task (or the one that is not `ctcvr_task`).
        ctcvr_task: str or None. Name of the click-and-convert task.
            Defaults to the task that is not `ctr_task`.
        cvr_output: str. Name of the CVR head and output; its head takes
            the CTCVR task's `head_units`. Defaults to "cvr".

    Returns:
        A `SharingResult`: features for the CTR head and the extra CVR head,
        and a composer adding `ctcvr = ctr * cvr`.
    """
    ctr, ctcvr = esmm_roles(tasks, ctr_task, ctcvr_task)
    check_depth("shared_depth", shared_depth, trunk.num_blocks)
    if cvr_output in (ctr.name, ctcvr.name):
        raise OptionError("cvr_output", f"cvr_output must differ from the task names. Received: cvr_output={cvr_output!r}")
    try:
        cvr = Task(cvr_output, "binary", head_units=ctcvr.head_units)
    except OptionError as error:
        raise OptionError("cvr_output", str(error).replace("A task name", "cvr_output")) from None
    shared = features
    for index in range(shared_depth):
        shared = trunk.blocks[index](f"shared_block_{index + 1}")(shared)
    towers = {}
    for name in (ctr.name, cvr.name):
        x = shared
        for index in range(shared_depth, trunk.num_blocks):
            x = trunk.blocks[index](f"{name}_block_{index + 1}")(x)
        towers[name] = x

    def compose(outputs: dict) -> dict:
        product = keras.layers.Multiply(name=ctcvr.name)([outputs[ctr.name], outputs[cvr.name]])
        return {**outputs, ctcvr.name: product}

    return SharingResult(features=towers, extra_heads={cvr.name: cvr}, compose=compose)
