"""Which process of a multi-worker cluster writes the run's files, read from TF_CONFIG without starting a cluster."""

import json

import pytest
import tensorflow as tf

from mtl_zoo.distribution.strategies import is_chief, is_chief_task, num_workers


class ClusterMember(tf.distribute.MultiWorkerMirroredStrategy):
    """A multi-worker strategy object that only knows its cluster (nothing is started)."""

    def __init__(self, resolver):  # noqa: D107  (no collective set-up)
        self._resolver = resolver

    @property
    def cluster_resolver(self):
        return self._resolver


def member(monkeypatch, cluster: dict, task_type: str, index: int) -> ClusterMember:
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}}))
    return ClusterMember(tf.distribute.cluster_resolver.TFConfigClusterResolver())


WORKERS = {"worker": ["localhost:1", "localhost:2"]}
WITH_CHIEF = {"chief": ["localhost:0"], "worker": ["localhost:1", "localhost:2"]}


@pytest.mark.parametrize("cluster, task_type, index, chief", [
    (WORKERS, "worker", 0, True),
    (WORKERS, "worker", 1, False),
    (WITH_CHIEF, "chief", 0, True),
    (WITH_CHIEF, "worker", 0, False),  # a chief job exists: worker 0 must not write the same folder
    (WITH_CHIEF, "worker", 1, False),
])
def test_the_chief_job_writes_if_there_is_one_else_worker_0(monkeypatch, cluster, task_type, index, chief):
    strategy = member(monkeypatch, cluster, task_type, index)
    assert is_chief(strategy) is chief
    assert is_chief_task(cluster, task_type, index) is chief


def test_a_process_outside_a_cluster_writes():
    assert is_chief(tf.distribute.get_strategy())
    assert is_chief_task({}, None, None)


def test_the_chief_counts_as_a_worker(monkeypatch):
    assert num_workers(member(monkeypatch, WITH_CHIEF, "worker", 1)) == 3
    assert num_workers(member(monkeypatch, WORKERS, "worker", 1)) == 2
