"""`tf.distribute` strategies by name: one device, several devices, several workers, TPUs.

A recipe's `training.strategy` (or `mtl-zoo train --strategy`) names one of
`STRATEGY_NAMES`; `make_strategy` builds it. The model, its optimizer,
metrics and balancer state are created under the strategy's scope
(`mtl_zoo.training.run.build_model_from_recipe`), the recipe's batch size is the
*global* batch, which Keras splits across the replicas with the strategy's
own dataset distribution, and per-task losses are reduced exactly across
replicas (`mtl_zoo.models.reduction`), so the same recipe gives the same losses on
any number of replicas.

- `default`: no distribution (one device).
- `mirrored`: `MirroredStrategy` over every GPU, else over every logical CPU
  device (`split_cpu`, `--devices N`, makes several out of one CPU).
- `multi_worker`: `MultiWorkerMirroredStrategy` over the workers that
  `TF_CONFIG` lists (`mtl-zoo train --workers N` starts them on this host).
  Collectives time out after `COLLECTIVE_TIMEOUT_SECONDS`, so a dead worker
  makes the others fail instead of waiting forever.
- `tpu`: `TPUStrategy` on the TPU a `TPUClusterResolver` finds.

Process-wide device settings (`split_cpu`) are for the command line, which
makes them from its flags; the library never calls it on its own.

Example:

>>> from mtl_zoo.distribution.strategies import make_strategy, strategy_record
>>> strategy_record(make_strategy("default"))
{'strategy': 'default', 'replicas': 1, 'workers': 1}
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from mtl_zoo.errors import OptionError

STRATEGY_NAMES = ("default", "mirrored", "multi_worker", "tpu")
# Seconds a collective operation (all-reduce) waits for the other workers before failing.
COLLECTIVE_TIMEOUT_SECONDS = 120


class DistributionError(ValueError):
    """A strategy cannot be set up here (no TPU, a bad TF_CONFIG, devices already initialized)."""


def split_cpu(num_devices: int) -> None:
    """Splits the physical CPU into `num_devices` logical devices (process-wide; before TensorFlow starts).

    Lets `mirrored` run several replicas on one CPU, to try a recipe's
    distributed run on a laptop. Must run before TensorFlow initializes its
    devices (the first op or device query).

    Args:
        num_devices: int. Logical CPU devices, >= 1.

    Example:

    >>> split_cpu(2)  # doctest: +SKIP
    """
    if num_devices < 1:
        raise DistributionError(f"--devices must be at least 1. Received: {num_devices}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
        current = len(tf.config.list_logical_devices("CPU"))
        if current != num_devices:
            raise DistributionError(
                f"TensorFlow's devices are already initialized with {current} logical CPU device(s); split the "
                f"CPU before any TensorFlow op runs. Received: num_devices={num_devices}"
            ) from None


def cluster_spec_from_environment() -> dict:
    """The parsed `TF_CONFIG` of a multi-worker run; raises `DistributionError` if missing or malformed.

    Example:

    >>> os.environ["TF_CONFIG"] = '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, '\\
    ...     '"task": {"type": "worker", "index": 1}}'
    >>> cluster_spec_from_environment()["task"]
    {'type': 'worker', 'index': 1}
    >>> del os.environ["TF_CONFIG"]
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise DistributionError(
            "strategy 'multi_worker' needs TF_CONFIG (the cluster's workers and this process's index), or "
            "`mtl-zoo train RECIPE --strategy multi_worker --workers N` to start N local workers"
        )
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError):
        raise DistributionError(
            'TF_CONFIG must be JSON like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            f'"task": {{"type": "worker", "index": 0}}}}. Received: {text!r}'
        ) from None
    if not isinstance(workers, list) or not workers or not 0 <= index < len(workers):
        raise DistributionError(f"TF_CONFIG task index must name one of its {len(workers)} workers. Received: {text!r}")
    return config


def make_strategy(name: str = "default") -> tf.distribute.Strategy:
    """Builds the strategy `name` (one of `STRATEGY_NAMES`).

    Args:
        name: str. "default", "mirrored", "multi_worker" or "tpu".
            Defaults to "default".

    Returns:
        A `tf.distribute.Strategy`.

    Example:

    >>> make_strategy("mirrored").num_replicas_in_sync >= 1
    True
    """
    if name not in STRATEGY_NAMES:
        raise OptionError("strategy", f"unknown strategy; allowed: {', '.join(STRATEGY_NAMES)}. Received: {name!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [device.name for device in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        cluster_spec_from_environment()
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT_SECONDS)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as error:
        raise DistributionError(
            f"strategy 'tpu' found no TPU ({' '.join(str(error).split())[:160]}); run on a TPU VM or pick "
            "default, mirrored or multi_worker"
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """The `STRATEGY_NAMES` entry a strategy object is."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "multi_worker"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "mirrored"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    return "default"


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Worker processes taking part in `strategy` (1 unless multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if strategy_name(strategy) == "multi_worker" and resolver is not None:
        cluster = resolver.cluster_spec().as_dict()
        return len(cluster.get("chief", [])) + len(cluster.get("worker", [None]))
    return 1


def is_chief_task(cluster: dict, task_type, task_index) -> bool:
    """Whether the task `(task_type, task_index)` of `cluster` writes the run's files.

    The `chief` job's task when the cluster has one, else worker 0; a
    process outside any cluster (`task_type` None) always writes.

    Args:
        cluster: dict. Job name -> list of addresses (`TF_CONFIG["cluster"]`).
        task_type: str or None. This process's job (`TF_CONFIG["task"]["type"]`).
        task_index: int or None. Its index in that job.

    Example:

    >>> workers = {"worker": ["host:1", "host:2"]}
    >>> is_chief_task(workers, "worker", 0), is_chief_task(workers, "worker", 1)
    (True, False)
    >>> with_chief = {"chief": ["host:0"], "worker": ["host:1"]}
    >>> is_chief_task(with_chief, "chief", 0), is_chief_task(with_chief, "worker", 0)
    (True, False)
    """
    if task_type is None:
        return True
    if cluster.get("chief"):
        return task_type == "chief"
    return task_type == "worker" and int(task_index or 0) == 0


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: always, unless it is not the cluster's chief (`is_chief_task`)."""
    if strategy_name(strategy) != "multi_worker":
        return True
    resolver = strategy.cluster_resolver
    return is_chief_task(resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id)


def strategy_record(strategy: tf.distribute.Strategy) -> dict:
    """What `metrics.json` records of a run's distribution: strategy, replicas, workers."""
    return {
        "strategy": strategy_name(strategy),
        "replicas": int(strategy.num_replicas_in_sync),
        "workers": num_workers(strategy),
    }

