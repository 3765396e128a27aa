"""Multi-worker training: 2 worker processes on 127.0.0.1 started by `mtl-zoo train --workers 2`.

The two workers train MultiDigits to the metrics of one process; only the
chief writes the artifact; a worker that dies fails the run in one line
instead of leaving the other waiting.
"""

import json
import os
import subprocess
import sys
import time

import psutil
import pytest


def train_command(output, data_dir, *extra):
    return [sys.executable, "-m", "mtl_zoo.cli", "train", "multidigits_hard", "--output", str(output),
            "--set", "training.epochs=1", "--set", f"data.data_dir={data_dir}", *extra]


def environment():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


@pytest.mark.slow
def test_two_local_workers_train_to_the_metrics_of_one_process(multi_digits_data_dir, tmp_path):
    single = subprocess.run(train_command(tmp_path / "single", multi_digits_data_dir), env=environment(),
                            capture_output=True, text=True, timeout=900)
    assert single.returncode == 0, single.stderr[-2000:]
    workers = subprocess.run(
        train_command(tmp_path / "workers", multi_digits_data_dir, "--strategy", "multi_worker", "--workers", "2",
                      "--worker-timeout", "900"),
        env=environment(), capture_output=True, text=True, timeout=1000)
    assert workers.returncode == 0, workers.stderr[-3000:]
    assert "strategy 'multi_worker' on 2 replicas in 2 workers" in workers.stdout
    assert workers.stdout.count("Wrote ") == 1  # only the chief writes (and prints)
    one = json.loads((tmp_path / "single" / "metrics.json").read_text())
    two = json.loads((tmp_path / "workers" / "metrics.json").read_text())
    assert two["distribution"] == {"strategy": "multi_worker", "replicas": 2, "workers": 2}
    assert one["distribution"] == {"strategy": "default", "replicas": 1, "workers": 1}
    for task, metrics in one["test"].items():
        assert two["test"][task]["accuracy"] >= 0.9
        assert two["test"][task]["accuracy"] == pytest.approx(metrics["accuracy"], abs=0.01), task
        assert two["test"][task]["loss"] == pytest.approx(metrics["loss"], rel=0.05), task
    assert not (tmp_path / ".workers.run" / "checkpoints").exists()


@pytest.mark.slow
def test_a_worker_that_dies_fails_the_run_in_one_line(multi_digits_data_dir, tmp_path):
    supervisor = subprocess.Popen(
        train_command(tmp_path / "out", multi_digits_data_dir, "--strategy", "multi_worker", "--workers", "2"),
        env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    victim = None
    while time.monotonic() < deadline and victim is None:
        for child in psutil.Process(supervisor.pid).children():
            if '"index": 1' in child.environ().get("TF_CONFIG", "") and time.time() - child.create_time() > 5:
                victim = child
        time.sleep(0.2)
    assert victim is not None, "worker 1 never started"
    victim.kill()
    _, errors = supervisor.communicate(timeout=120)  # returns: the chief is stopped, not left waiting
    lines = [line for line in errors.strip().splitlines() if line.startswith("mtl-zoo: error:")]
    assert supervisor.returncode == 2
    assert len(lines) == 1 and "worker 1 of 2 exited with status -9" in lines[0], errors[-2000:]
    assert not (tmp_path / "out" / "metrics.json").exists()
