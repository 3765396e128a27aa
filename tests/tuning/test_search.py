"""`mtl-zoo tune` end to end on a small MultiDigits setting: the trial table, the artifact, and resume after a kill."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtl_zoo.cli import main

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "multidigits_hard.yaml"
SEARCHED = ["sharing", "hard/shared_depth", "balancer", "loss_weight_left_digit", "loss_weight_right_digit",
            "learning_rate"]


def tiny_settings(data_dir) -> list:
    """One epoch on the 2,000 validation images, scored on the test split; a narrowed space."""
    overrides = [f"data.data_dir={data_dir}", "training.epochs=1", "data.train_split=validation",
                 "data.validation_split=test", "model.trunk_options.filters=[8, 16]",
                 "model.trunk_options.dense_units=[32]",
                 "tuning={space: {sharing: [hard, mmoe], balancer: [fixed, dwa], num_experts: {min: 2, max: 3}}}"]
    return [item for override in overrides for item in ("--set", override)]


@pytest.mark.slow
def test_three_trial_random_search_writes_one_row_per_trial(multi_digits_data_dir, tmp_path, capsys):
    output = tmp_path / "tuned"
    status = main(["tune", str(RECIPE), "--tuner", "random", "--max-trials", "3", "--output", str(output),
                   *tiny_settings(multi_digits_data_dir)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "Trial 1/3" in printed and "Trial 3/3" in printed and "Pareto front" in printed
    with open(output / "search_results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["trial"]) for row in rows] == [0, 1, 2]
    for row in rows:
        for name in ["sharing", "balancer", "loss_weight_left_digit", "loss_weight_right_digit", "learning_rate",
                     "left_digit_accuracy", "right_digit_accuracy", "left_digit_loss", "objective", "pareto"]:
            assert row[name] != "", (name, row)
        depth = row["hard/shared_depth"] if row["sharing"] == "hard" else row["mmoe/shared_depth"]
        assert depth != ""
        expected = (float(row["left_digit_accuracy"]) + float(row["right_digit_accuracy"])) / 2
        assert float(row["objective"]) == pytest.approx(expected, abs=1e-6)
    assert any(row["pareto"] == "True" for row in rows)
    results = json.loads((output / "search_results.json").read_text())
    assert len(results["trials"]) == 3 and results["best_trial"] in results["pareto_trials"]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["search"]["best_trial"] == results["best_trial"]
    best = next(row for row in rows if row["best"] == "True")
    assert metrics["resolved_recipe"]["model"]["sharing"] == best["sharing"]
    for name in ("model.keras", "saved_model", "recipe.yaml", "search_tradeoff.png", "search/oracle.json"):
        assert (output / name).exists(), name


@pytest.mark.slow
def test_a_killed_search_resumes_without_losing_or_rerunning_a_trial(multi_digits_data_dir, tmp_path):
    output = tmp_path / "tuned"
    command = [sys.executable, "-u", "-m", "mtl_zoo.cli", "tune", str(RECIPE), "--max-trials", "3",
               "--output", str(output), *tiny_settings(multi_digits_data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    first = []
    for line in process.stdout:
        first.append(line)
        if line.startswith("  -> score"):
            break
    process.kill()
    process.wait()
    finished = output / "search" / "trial_0" / "trial.json"
    before = json.loads(finished.read_text())
    assert before["status"] == "COMPLETED"
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Trial 1/3" not in resumed.stdout and "Trial 3/3" in resumed.stdout
    assert json.loads(finished.read_text()) == before
    with open(output / "search_results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["trial"]) for row in rows] == [0, 1, 2]
    assert float(rows[0]["objective"]) == pytest.approx(before["metrics"]["metrics"]["multi_task_score"]
                                                        ["observations"][0]["value"][0])


def test_resume_needs_a_search_and_a_new_search_an_empty_folder(tmp_path, capsys):
    assert main(["tune", str(RECIPE), "--output", str(tmp_path / "none"), "--resume"]) == 2
    assert "holds no search to resume" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    assert main(["tune", str(RECIPE), "--output", str(tmp_path / "full")]) == 2
    assert "pass --resume to continue its search" in capsys.readouterr().err


@pytest.mark.slow
def test_hyperband_search_runs_on_a_csv_recipe(synthetic_recipe_path, tmp_path):
    """Hyperband sets each trial's epochs itself; the other oracles only propose values (random is tested above)."""
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.tuning.search import run_search

    recipe = load_recipe(synthetic_recipe_path, ["tuning={space: {sharing: [hard, mmoe], balancer: fixed}}",
                                                 "training.epochs=2"])
    outcome = run_search(recipe, "hyperband", max_trials=2, output=tmp_path)
    assert [row["trial"] for row in outcome.rows] == [0, 1]
    assert outcome.summary["best_trial"] in outcome.summary["pareto_trials"]
    assert all(row["agree_a_mae"] is not None and row["objective"] <= 0 for row in outcome.rows)  # -mean mae
    assert outcome.best_recipe.model.sharing in ("hard", "mmoe")


@pytest.mark.slow
def test_a_search_on_two_replicas(synthetic_recipe_path, tmp_path):
    """`tune --strategy mirrored --devices 2`: the trial and the best recipe's run train on 2 logical CPUs."""
    output = tmp_path / "tuned"
    finished = subprocess.run(
        [sys.executable, "-m", "mtl_zoo.cli", "tune", str(synthetic_recipe_path), "--max-trials", "1",
         "--output", str(output), "--strategy", "mirrored", "--devices", "2",
         "--set", "tuning={space: {sharing: hard, balancer: [fixed, dwa]}}"],
        capture_output=True, text=True, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads((output / "search_results.json").read_text())
    assert len(results["trials"]) == 1 and results["trials"][0]["objective"] is not None
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["resolved_recipe"]["training"]["strategy"] == "mirrored"
    assert metrics["distribution"] == {"strategy": "mirrored", "replicas": 2, "workers": 1}


def test_tune_refuses_multi_worker_in_one_line(synthetic_recipe_path, capsys):
    assert main(["tune", str(synthetic_recipe_path), "--set", "training.strategy=multi_worker"]) == 2
    assert "tune runs its trials in one process; use --strategy mirrored" in capsys.readouterr().err
