"""`mtl-zoo train --single-task`: one model per task on the same trunk and budget, and Δm."""

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
import yaml

from mtl_zoo.models.parameters import count_parameters
from mtl_zoo.cli import main
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.training.single_task import single_task_plan
from mtl_zoo.training.run import build_model_from_recipe

ROWS = 240
TRUNK_UNITS = [8, 4]


def write_shop_csv(folder):
    """A tiny shop table: spend (regression) and returned (binary, some cells empty) from age and city."""
    rng = np.random.default_rng(0)
    age = rng.uniform(18, 70, ROWS).round(1)
    city = rng.choice(["oslo", "rome", "lima", "pune"], ROWS)
    spend = (age / 10 + (city == "rome") * 3 + rng.normal(0, 0.5, ROWS)).round(2)
    returned = np.where(rng.random(ROWS) < 0.1, np.nan, (spend > np.median(spend)).astype(float))
    path = folder / "shop.csv"
    pd.DataFrame({"age": age, "city": city, "spend": spend, "returned": returned}).to_csv(path, index=False)
    return path


def shop_recipe(folder, **model) -> dict:
    return {
        "name": "shop",
        "seed": 3,
        "data": {"file": str(write_shop_csv(folder)), "validation_fraction": 0.2, "test_fraction": 0.25,
                 "columns": {"age": "numeric", "city": "categorical"}},
        "tasks": [{"name": "spend", "kind": "regression", "metrics": ["rmse", "mae"]},
                  {"name": "returned", "kind": "binary", "metrics": ["auc", "accuracy"], "loss_weight": 0.5}],
        "model": {"trunk": "features", "trunk_options": {"units": TRUNK_UNITS, "embedding_dim": 2}, **model},
        "training": {"epochs": 2, "batch_size": 32},
    }


def write_recipe(folder, document) -> str:
    path = folder / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.fixture(scope="module")
def single_task_artifact(tmp_path_factory):
    """`mtl-zoo train --single-task` on the shop CSV with hard sharing of the first block."""
    folder = tmp_path_factory.mktemp("single_task")
    recipe = write_recipe(folder, shop_recipe(folder, sharing="hard", shared_depth=1))
    output = io.StringIO()
    with redirect_stdout(output):
        status = main(["train", recipe, "--single-task", "--output", str(folder / "artifact")])
    assert status == 0, output.getvalue()
    return json.loads((folder / "artifact" / "metrics.json").read_text()), output.getvalue()


LOWER_IS_BETTER = {"rmse", "mae", "loss"}


def test_metrics_json_has_every_task_single_task_metrics_and_their_delta_m(single_task_artifact):
    metrics, _ = single_task_artifact
    assert sorted(metrics["single_task"]) == ["returned", "spend"]
    for task in ("spend", "returned"):
        assert set(metrics["single_task"][task]) == set(metrics["test"][task])  # loss and every metric
    assert metrics["delta_m_metrics"] == {"spend": "rmse", "returned": "auc"}  # each task's first metric
    changes = []
    for task, metric in metrics["delta_m_metrics"].items():
        ratio = metrics["test"][task][metric] / metrics["single_task"][task][metric]
        changes.append(100 * (1 - ratio) if metric in LOWER_IS_BETTER else 100 * (ratio - 1))
    assert metrics["delta_m"] == pytest.approx(np.mean(changes), rel=1e-9, abs=1e-9)
    assert metrics["single_task"]["spend"] != metrics["test"]["spend"]  # a model of its own, not a copy


def test_train_prints_the_comparison_and_where_the_single_task_metrics_are(single_task_artifact):
    metrics, output = single_task_artifact
    assert "Single-task model of 'spend' (sharing 'hard'" in output
    assert "Single-task model of 'returned' (sharing 'hard'" in output
    table = output[output.index("Multi-task vs single-task"):]
    assert f"Δm = {metrics['delta_m']:+.2f}%" in table
    assert "spend     rmse" in table and "returned  auc" in table
    assert "single-task models are not saved; their test metrics are in metrics.json" in output


def test_single_task_models_have_one_output_and_the_same_trunk(single_task_artifact, tmp_path):
    metrics, _ = single_task_artifact
    recipe = load_recipe(write_recipe(tmp_path, shop_recipe(tmp_path, sharing="hard", shared_depth=1)))
    multi = build_model_from_recipe(recipe)
    # Hard sharing of block 1: each task owns a copy of block 2 (8 -> 4, 36 weights) and a head (4 -> 1, 5);
    # spend's head ends in its TargetScale (a non-trainable mean and std: 2).
    private = TRUNK_UNITS[0] * TRUNK_UNITS[1] + TRUNK_UNITS[1] + TRUNK_UNITS[1] + 1
    private = {"spend": private + 2, "returned": private}
    for task in ("spend", "returned"):
        other_task = private["returned" if task == "spend" else "spend"]
        plan = single_task_plan(recipe, task)
        model = build_model_from_recipe(plan.recipe)
        assert model.task_names == [task] and model.output_keys == [task]
        assert count_parameters(model) == count_parameters(multi) - other_task
        assert metrics["single_task_models"][task]["parameters"] == count_parameters(multi) - other_task
        assert plan.recipe.tasks[0].loss_weight == 1.0 and plan.recipe.balancer.name == "fixed"
        assert plan.recipe.training == recipe.training and plan.recipe.seed == recipe.seed


def test_options_that_act_between_tasks_are_left_out_of_single_task_models(tmp_path):
    document = shop_recipe(tmp_path, sharing="hard")
    document["training"].update(task_learning_rates={"spend": 0.5}, gradient_conflicts={"every_n_steps": 2})
    recipe = load_recipe(write_recipe(tmp_path, document))
    single = single_task_plan(recipe, "spend").recipe
    assert single.training.learning_rate == recipe.training.learning_rate and single.training.epochs == 2
    assert single.training.task_learning_rates == {} and single.training.gradient_conflicts is None


@pytest.mark.parametrize("monitor, expected", [("val_returned_auc", "multi_task_score"),
                                               ("val_spend_rmse", "val_spend_rmse"), ("val_loss", "val_loss")])
def test_a_single_task_model_watches_and_scores_only_its_own_task(tmp_path, monitor, expected):
    document = shop_recipe(tmp_path, sharing="hard")
    document["training"]["early_stopping"] = {"patience": 2, "monitor": monitor}
    document["tuning"] = {"objective": {"metrics": {"spend": "mae", "returned": "auc"},
                                        "weights": {"spend": 2.0, "returned": 1.0}}}
    single = single_task_plan(load_recipe(write_recipe(tmp_path, document)), "spend").recipe
    assert single.training.early_stopping.monitor == expected
    assert single.training.early_stopping.patience == 2
    assert (single.tuning.objective.metrics, single.tuning.objective.weights) == ({"spend": "mae"}, {"spend": 2.0})


def test_an_mmoe_single_task_model_is_one_gate_over_the_same_experts(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path, shop_recipe(tmp_path, sharing="mmoe", num_experts=3,
                                                            expert_units=[5])))
    multi = build_model_from_recipe(recipe, adapt=False)
    plan = single_task_plan(recipe, "spend")
    model = build_model_from_recipe(plan.recipe, adapt=False)
    assert plan.sharing == "mmoe" and plan.note == ""
    assert model.task_names == ["spend"] and model.output_keys == ["spend", "spend_gate_weights"]
    # The other task's gate (4 -> 3 experts) and head (5 -> 1) are all that is missing.
    assert count_parameters(multi) - count_parameters(model) == (TRUNK_UNITS[-1] * 3 + 3) + (5 + 1)


def test_a_scheme_that_needs_several_tasks_falls_back_to_hard_sharing_and_says_so(tmp_path):
    document = shop_recipe(tmp_path, sharing="esmm", ctr_task="returned", ctcvr_task="bought")
    document["tasks"] = [{"name": "returned", "kind": "binary"}, {"name": "bought", "kind": "binary",
                                                                  "label": "returned"}]
    recipe = load_recipe(write_recipe(tmp_path, document))
    plan = single_task_plan(recipe, "bought")
    model = build_model_from_recipe(plan.recipe, adapt=False)
    assert plan.sharing == "hard" and plan.recipe.model.sharing == "hard"
    assert plan.note.startswith("sharing 'esmm' cannot model a single task; its single-task model uses 'hard'")
    assert model.output_keys == ["bought"]


def test_saved_models_readme_documents_the_single_task_fields(single_task_artifact):
    from pathlib import Path

    metrics, _ = single_task_artifact
    documented = (Path(__file__).resolve().parents[2] / "saved_models" / "README.md").read_text()
    assert not [key for key in metrics if f"`{key}`" not in documented]


def test_comparison_table_lines_up_tasks_of_any_name_length():
    from mtl_zoo.training.single_task import format_comparison_table

    report = {"single_task": {"grade": {"accuracy": 0.8}, "income_bracket": {"rmse": 12.5}}, "delta_m": -1.25,
              "delta_m_metrics": {"grade": "accuracy", "income_bracket": "rmse"}}
    table = format_comparison_table(report, {"grade": {"accuracy": 0.84}, "income_bracket": {"rmse": 13.75}})
    assert table == (
        "task            metric    multi-task  single-task  change\n"
        "grade           accuracy  0.8400      0.8000       +5.00%\n"
        "income_bracket  rmse      13.7500     12.5000      -10.00%\n"
        "Δm = -1.25% (mean change over tasks; positive: the multi-task model is better)"
    )
