"""The search objective: per-metric directions, weights, Δm, and its checks against the recipe."""

import pytest

from mtl_zoo.errors import RecipeError
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.training.relative_performance import delta_m
from mtl_zoo.training.score import SCORE_NAME, ScoreLogger, TaskObjective

RECIPE = "recipes/multidigits_hard.yaml"


def test_weighted_mean_with_directions():
    objective = TaskObjective({"a": "accuracy", "b": "rmse", "c": "auc"}, weights={"a": 2.0, "b": 1.0, "c": 1.0})
    metrics = {"a": {"accuracy": 0.8}, "b": {"rmse": 0.4}, "c": {"auc": 0.7}}
    # hand-computed: (2 * 0.8 - 1 * 0.4 + 1 * 0.7) / 4
    assert objective.score(metrics) == pytest.approx(0.475)
    assert objective.directions() == {"a": "max", "b": "min", "c": "max"}


def test_percentage_logarithmic_and_log_cosh_errors_are_minimized():
    metrics = {"a": {"mape": 12.0}, "b": {"msle": 0.05}, "c": {"log_cosh_error": 0.3}}
    objective = TaskObjective({"a": "mape", "b": "msle", "c": "log_cosh_error"})
    assert objective.directions() == {"a": "min", "b": "min", "c": "min"}
    assert objective.score(metrics) == pytest.approx(-(12.0 + 0.05 + 0.3) / 3)  # hand-computed
    baselines = {"a": {"mape": 10.0}, "b": {"msle": 0.04}, "c": {"log_cosh_error": 0.4}}
    with_baselines = TaskObjective({"a": "mape", "b": "msle", "c": "log_cosh_error"}, baselines=baselines)
    assert with_baselines.score(metrics) == pytest.approx((-20.0 - 25.0 + 25.0) / 3)  # Δm, hand-computed


def test_delta_m_against_baselines():
    baselines = {"a": {"accuracy": 0.8}, "b": {"mae": 2.0}}
    objective = TaskObjective({"a": "accuracy", "b": "mae"}, baselines=baselines)
    metrics = {"a": {"accuracy": 0.88}, "b": {"mae": 2.5}}
    # +10% on a, -25% on b: mean -7.5
    assert objective.score(metrics) == pytest.approx(-7.5)
    assert objective.score(metrics) == pytest.approx(delta_m(metrics, baselines, {"a": "accuracy", "b": "mae"}))


def test_score_logger_writes_the_score_from_validation_logs():
    logger = ScoreLogger(TaskObjective({"a": "accuracy", "b": "loss"}))
    logs = {"val_a_accuracy": 0.9, "val_b_loss": 0.3, "a_accuracy": 0.1, "b_loss": 9.0}
    logger.on_epoch_end(0, logs)
    assert logs[SCORE_NAME] == pytest.approx(0.3)


def test_recipe_objective_defaults_to_each_task_first_metric():
    objective = TaskObjective.from_recipe(load_recipe(RECIPE))
    assert objective.metrics == {"left_digit": "accuracy", "right_digit": "accuracy"}
    assert not objective.uses_delta_m


@pytest.mark.parametrize("override, field", [
    ("tuning={objective: {weights: {middle_digit: 1.0}}}", "tuning.objective.weights"),
    ("tuning={objective: {metrics: {left_digit: auc}}}", "tuning.objective.metrics.left_digit"),
    ("tuning={objective: {baselines: {left_digit: {accuracy: 0.9}}}}", "tuning.objective.baselines"),
])
def test_bad_objective_names_the_field(override, field):
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        TaskObjective.from_recipe(load_recipe(RECIPE, [override]))
