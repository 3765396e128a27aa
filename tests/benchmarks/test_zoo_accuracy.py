"""`benchmarks/zoo_accuracy.py`: a row for every scheme and balancer, and a real run's figures."""

import importlib.util
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from mtl_zoo.registry import BALANCERS, SHARING_SCHEMES

ROOT = Path(__file__).resolve().parents[2]
RECOMMENDATION_ONLY = {"esmm"}  # needs click and conversion labels, not MultiDigits


def load_script():
    spec = importlib.util.spec_from_file_location("zoo_accuracy", ROOT / "benchmarks" / "zoo_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registered_scheme_and_balancer_has_a_row():
    script = load_script()
    sharing = {row[1] for row in script.sharing_rows()}
    balancers = {row[1] for row in script.balancer_rows(BALANCERS.names())} | {"fixed"}
    assert sharing == set(SHARING_SCHEMES.names()) - RECOMMENDATION_ONLY
    assert balancers == set(BALANCERS.names())


def test_a_derived_recipe_sets_and_removes_keys(tmp_path):
    path = load_script().changed_recipe("multidigits_ple", {"model.sharing": "cgc", "model.num_levels": None}, tmp_path)
    model = yaml.safe_load(path.read_text())["model"]
    assert model["sharing"] == "cgc" and "num_levels" not in model
    assert model["num_shared_experts"] == 2  # the rest of the recipe is kept


@pytest.mark.slow
def test_a_run_reports_the_figures_of_the_artifact_it_trained(multi_digits_data_dir, tmp_path):
    output = io.StringIO()
    with redirect_stdout(output):
        document = load_script().main(["--only", "cgc", "--set", "training.epochs=1",
                                       "--set", f"data.data_dir={multi_digits_data_dir}",
                                       "--output-dir", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs")])
    [row] = document["rows"]
    metrics = json.loads((tmp_path / "runs" / "sharing_cgc" / "metrics.json").read_text())
    assert (row["sharing"], row["epochs"], row["parameters"]) == ("cgc", 1, metrics["parameters"])
    assert row["left_digit_accuracy"] == metrics["test"]["left_digit"]["accuracy"] > 0.3  # 10 classes: chance 0.1
    assert json.loads((tmp_path / "results" / "zoo_accuracy.json").read_text())["rows"] == [row]
    assert "| sharing | `cgc` | multidigits_ple | 1 |" in (tmp_path / "results" / "zoo_accuracy.md").read_text()
    assert "`cgc`" in output.getvalue()


def test_a_rerun_flags_only_the_accuracies_that_moved_beyond_the_tolerance():
    earlier = [{"group": "sharing", "row": "hard", "left_digit_accuracy": 0.988, "right_digit_accuracy": 0.980},
               {"group": "balancer", "row": "dwa", "left_digit_accuracy": 0.975, "right_digit_accuracy": 0.970}]
    now = [{"group": "sharing", "row": "hard", "left_digit_accuracy": 0.992, "right_digit_accuracy": 0.965},
           {"group": "balancer", "row": "rlw", "left_digit_accuracy": 0.5, "right_digit_accuracy": 0.5}]
    lines = load_script().compare(earlier, now, tolerance=0.01)
    assert lines == ["sharing hard left_digit: 0.9880 -> 0.9920 (+0.0040)",
                     "sharing hard right_digit: 0.9800 -> 0.9650 (-0.0150) BEYOND 0.01"]
