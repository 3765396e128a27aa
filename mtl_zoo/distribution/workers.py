"""Local worker processes for a multi-worker run on one host, started and supervised.

`mtl-zoo train RECIPE --strategy multi_worker --workers N` runs
`run_local_workers`: it picks N free ports on 127.0.0.1, starts N copies of
the same command, each with its own `TF_CONFIG` (the cluster's N workers
and its index), and waits for them. Worker 0 is the chief: its output is
shown and only it writes the artifact; the others write their output to a
log file. If any worker fails, the others are stopped at once and the run
fails with one line naming the worker and the tail of its log, so a dead
worker never leaves the rest waiting (their collectives also time out,
`mtl_zoo.distribution.strategies.COLLECTIVE_TIMEOUT_SECONDS`).

On several hosts, start the same command on each with `TF_CONFIG` set by
hand (see `cluster_config`) and no `--workers`.

Example:

>>> config = cluster_config(["127.0.0.1:2222", "127.0.0.1:2223"], index=1)
>>> config["task"]
{'type': 'worker', 'index': 1}
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

# Seconds between two looks at the workers.
POLL_SECONDS = 0.2


class WorkerError(ValueError):
    """A local worker of a multi-worker run failed (the others were stopped)."""


def free_ports(count: int, host: str = "127.0.0.1") -> list:
    """`count` TCP ports free on `host` right now."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind((host, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def cluster_config(addresses: Sequence[str], index: int) -> dict:
    """The `TF_CONFIG` of worker `index` in a cluster of workers at `addresses` ("host:port").

    Args:
        addresses: list of str. Every worker's address, the chief first.
        index: int. This worker's position in `addresses`.
    """
    return {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def run_local_workers(command: Sequence[str], num_workers: int, timeout_seconds: Optional[float] = None,
                      log_folder=None) -> int:
    """Runs `command` as `num_workers` workers of one cluster on 127.0.0.1; returns the chief's exit status.

    Args:
        command: list of str. The full command line each worker runs
            (without `--workers`).
        num_workers: int. Workers to start, >= 1.
        timeout_seconds: float or None. Stop every worker and fail after
            this long. Defaults to None (no limit).
        log_folder: str, Path or None. Where the non-chief workers' output
            goes (`worker_<i>.log`). Defaults to a temporary folder.

    Raises:
        WorkerError: a worker exited with a failure, or the time ran out.
    """
    if num_workers < 1:
        raise WorkerError(f"--workers must be at least 1. Received: {num_workers}")
    addresses = [f"127.0.0.1:{port}" for port in free_ports(num_workers)]
    log_folder = Path(log_folder or tempfile.mkdtemp(prefix="mtl_zoo_workers_"))
    log_folder.mkdir(parents=True, exist_ok=True)
    processes, logs = [], []
    try:
        for index in range(num_workers):
            environment = dict(os.environ, TF_CONFIG=json.dumps(cluster_config(addresses, index)))
            log = log_folder / f"worker_{index}.log"
            logs.append(log)
            output = None if index == 0 else open(log, "w")
            processes.append(subprocess.Popen(list(command), env=environment, stdout=output,
                                              stderr=subprocess.STDOUT if output else None))
            if output:
                output.close()
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        while True:
            statuses = [process.poll() for process in processes]
            failed = [index for index, status in enumerate(statuses) if status not in (None, 0)]
            if failed:
                index = failed[0]
                detail = _tail(logs[index]) if index else "see its output above"
                raise WorkerError(f"worker {index} of {num_workers} exited with status {statuses[index]} "
                                  f"({detail}); the other workers were stopped and the run failed")
            if all(status == 0 for status in statuses):
                return 0
            if deadline is not None and time.monotonic() > deadline:
                raise WorkerError(f"the {num_workers} workers did not finish within {timeout_seconds:.0f} s; they "
                                  "were stopped and the run failed")
            time.sleep(POLL_SECONDS)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        for process in processes:
            process.wait()


def command_without_workers(argv: Sequence[str]) -> list:
    """The `mtl-zoo` command line each worker runs: `argv` without `--workers N`.

    Example:

    >>> command_without_workers(["train", "r.yaml", "--workers", "2", "--strategy", "multi_worker"])[-4:]
    ['train', 'r.yaml', '--strategy', 'multi_worker']
    """
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
            continue
        if item == "--workers":
            skip = True
            continue
        if item.startswith("--workers="):
            continue
        kept.append(item)
    return [sys.executable, "-m", "mtl_zoo.cli", *kept]
