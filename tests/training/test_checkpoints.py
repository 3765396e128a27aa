"""Run checkpoints: a run killed mid-epoch resumes and ends like an uninterrupted one; NaN stops a run.

The runs train a small CSV recipe (`mtl-zoo train` on user data) so an epoch
holds hundreds of steps and the kill lands mid-epoch.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from mtl_zoo.training.checkpoints import STATE_FILE, RunCheckpoints, recipe_fingerprint
from mtl_zoo.errors import CheckpointError, TrainingDivergedError
from mtl_zoo.recipes.loading import dump_recipe, load_recipe
from mtl_zoo.training.run import train_recipe

NUM_ROWS = 12000


def write_recipe(folder, epochs=2, batch_size=16, every_n_steps=40, rows=NUM_ROWS, huge_price_row=None,
                 shuffle_buffer=10000, learning_rate=0.003, balancer="uncertainty"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4))
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(4)})
    frame["price"] = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=rows)
    frame["clicked"] = (x[:, 0] + x[:, 3] > 0).astype(int)
    if huge_price_row is not None:
        frame.loc[huge_price_row, "price"] = 3e38
    frame["split"] = np.where(np.arange(rows) < rows * 0.9, "train", "test")
    frame.to_csv(folder / "shop.csv", index=False)
    (folder / "shop.yaml").write_text(f"""
name: shop
seed: 7
data:
  file: shop.csv
  split_column: split
  validation_split: null
  shuffle_buffer: {shuffle_buffer}
  columns: {{x0: numeric, x1: numeric, x2: numeric, x3: numeric}}
tasks:
  - {{name: price, kind: regression}}
  - {{name: clicked, kind: binary, metrics: [accuracy]}}
model:
  trunk: features
  trunk_options: {{units: [64, 64]}}
  shared_depth: 1
balancer:
  name: {balancer}
training:
  epochs: {epochs}
  batch_size: {batch_size}
  learning_rate: {learning_rate}
  steps_per_execution: 4
  checkpoint_every_n_steps: {"null" if every_n_steps is None else every_n_steps}
""")
    return folder / "shop.yaml"


def train_command(recipe, output):
    return [sys.executable, "-m", "mtl_zoo.cli", "train", str(recipe), "--output", str(output)]


def read_state(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_and_matches_an_uninterrupted_run(tmp_path):
    recipe = write_recipe(tmp_path)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    uninterrupted = subprocess.run(train_command(recipe, tmp_path / "whole"), env=environment,
                                   capture_output=True, text=True, timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    output = tmp_path / "resumed"
    state_path = tmp_path / ".resumed.run" / "checkpoints" / STATE_FILE
    process = subprocess.Popen(train_command(recipe, output), env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        state = read_state(state_path)
        if state and state["epoch"] == 1 and state["step"] > 0:  # mid-way through the second epoch
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = read_state(state_path)
    assert killed_at is not None and killed_at["epoch"] == 1 and killed_at["step"] > 0, killed_at
    assert not (output / "metrics.json").exists()

    resumed = subprocess.run(train_command(recipe, output), env=environment, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming from the checkpoint" in resumed.stdout
    assert not (tmp_path / ".resumed.run").exists()  # a finished run cleans up its checkpoints

    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    again = json.loads((output / "metrics.json").read_text())
    for task, metrics in whole["test"].items():
        for name, value in metrics.items():
            assert again["test"][task][name] == pytest.approx(value, rel=1e-5, abs=1e-7), (task, name)
    for task, weights in whole["task_weights"].items():  # the balancer's learned state resumed too
        assert len(weights) == 2 and weights[0] != weights[1]
        assert again["task_weights"][task] == pytest.approx(weights, rel=1e-5), task


KILLED_RUN = """
import sys
from mtl_zoo.training.checkpoints import RunCheckpoints
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.training.run import train_recipe
train_recipe(load_recipe(sys.argv[1]), checkpoints=lambda model: RunCheckpoints(sys.argv[2], model, "dwa"))
"""


@pytest.mark.slow
def test_a_dwa_run_killed_after_an_epoch_resumes_with_the_weights_that_epoch_set(tmp_path):
    """DWA updates its weights at each epoch's end; the checkpoint of that epoch must hold the update.

    The run is killed during the second epoch, so it resumes from the first
    epoch's checkpoint: the third epoch is the first to use DWA's weights
    (set after the second), which only match the uninterrupted run's if the
    resumed run saw the first epoch's update too.
    """
    recipe_path = write_recipe(tmp_path, epochs=3, rows=3000, every_n_steps=None, balancer="dwa")
    folder = tmp_path / "checkpoints"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(recipe_path), str(folder)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        state = read_state(folder / STATE_FILE)
        if state and state["epoch"] == 1:  # the first epoch's checkpoint is written: the second epoch runs
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = read_state(folder / STATE_FILE)
    assert killed_at is not None and (killed_at["epoch"], killed_at["step"]) == (1, 0), killed_at

    recipe = load_recipe(recipe_path)
    whole = train_recipe(recipe)
    resumed = train_recipe(recipe, checkpoints=lambda model: RunCheckpoints(folder, model, "dwa"))
    weights = whole.history["price_weight"]
    assert weights[:2] == [1.0, 1.0] and weights[2] != 1.0  # DWA's first update acts in the third epoch
    for key, values in whole.history.items():
        assert resumed.history[key] == pytest.approx(values, rel=1e-5), key
    for before, after in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)


def test_checkpoints_of_another_recipe_are_refused(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path, rows=400, epochs=1))
    folder = tmp_path / "checkpoints"
    result = train_recipe(recipe, checkpoints=lambda model: RunCheckpoints(folder, model, "first", 5))
    assert read_state(folder / STATE_FILE)["epoch"] == 1
    with pytest.raises(CheckpointError, match="different recipe"):
        RunCheckpoints(folder, result.model, "second").restore()
    assert recipe_fingerprint(dump_recipe(recipe)) == recipe_fingerprint(dump_recipe(recipe))


def test_a_loss_that_becomes_infinite_stops_the_run_naming_the_task_and_keeps_the_last_good_checkpoint(tmp_path):
    # Stored order, one step per call: the huge label sits in the 5th batch of 10 rows.
    recipe_path = write_recipe(tmp_path, rows=400, epochs=1, batch_size=10, every_n_steps=1, huge_price_row=45,
                               shuffle_buffer=0)
    # Unstandardized, so the huge label's squared error overflows (standardized by the training labels, it would not).
    recipe = load_recipe(recipe_path, ["training.steps_per_execution=1", "tasks.price.standardize_target=false"])
    folder = tmp_path / "checkpoints"
    with pytest.raises(TrainingDivergedError) as error:
        train_recipe(recipe, checkpoints=lambda model: RunCheckpoints(folder, model, "run", 1))
    assert error.value.task == "price"
    assert "task 'price'" in str(error.value) and "step 5" in str(error.value) and str(folder) in str(error.value)
    state = read_state(folder / STATE_FILE)
    assert (state["epoch"], state["step"]) == (0, 4)  # the last finite step's checkpoint


def test_the_command_line_reports_divergence_in_one_line(tmp_path, capsys):
    from mtl_zoo.cli import main

    recipe_path = write_recipe(tmp_path, rows=400, epochs=1, batch_size=10, every_n_steps=1, huge_price_row=45,
                               shuffle_buffer=0)
    status = main(["train", str(recipe_path), "--output", str(tmp_path / "out"),
                   "--set", "training.steps_per_execution=1", "--set", "tasks.price.standardize_target=false"])
    errors = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(errors) == 1 and errors[0].startswith("mtl-zoo: error: task 'price'"), errors
    assert not (tmp_path / "out").exists()
    assert (tmp_path / ".out.run" / "checkpoints" / STATE_FILE).exists()
    assert math.isfinite(read_state(tmp_path / ".out.run" / "checkpoints" / STATE_FILE)["step"])
