"""What `mtl-zoo tune` prints: reasons a user understands for what it cannot search, no tracebacks, no TF noise."""

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_a_short_search_prints_reasons_and_no_raw_errors_or_retracing_warnings(synthetic_recipe_path, tmp_path):
    """Two one-epoch trials of soft sharing with a gradient balancer (nothing shared), then the best recipe."""
    space = "tuning={space: {sharing: [soft, shared_middle, task_tree], balancer: aligned_mtl}}"
    finished = subprocess.run(
        [sys.executable, "-m", "mtl_zoo.cli", "tune", str(synthetic_recipe_path), "--max-trials", "2",
         "--output", str(tmp_path / "tuned"), "--set", space, "--set", "training.epochs=1"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    printed = finished.stdout + finished.stderr
    assert finished.returncode == 0, printed[-3000:]
    assert "Trial 2/2" in printed and "Wrote" in printed
    assert "Not searched: sharing=shared_middle (it needs shared_from and shared_to, which have no default to " \
           "search around; to search it, make it the recipe's model.sharing and set shared_from and shared_to " \
           "there)" in printed
    assert "Not searched: sharing=task_tree (it needs groups, which" in printed
    for noise in ("Traceback", "required positional argument", "retracing", "WARNING"):
        assert noise not in printed, noise


def test_a_failed_trial_ends_the_search_in_one_line(synthetic_recipe_path, tmp_path):
    from mtl_zoo.errors import DataError, RecipeError
    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.tuning.hypermodel import RecipeHyperModel
    from mtl_zoo.tuning.search import run_search

    class FailingFit(RecipeHyperModel):
        def fit(self, hp, model, *args, **kwargs):
            raise DataError("tasks.csv, column 'agree_a', row 7: not a number")

    recipe = load_recipe(synthetic_recipe_path, ["tuning={space: {sharing: hard, balancer: fixed}}"])
    with pytest.raises(RecipeError) as error:
        run_search(recipe, "random", max_trials=1, output=tmp_path, hypermodel=FailingFit(recipe, adapt=False))
    message = str(error.value)
    assert "\n" not in message and "tuning: trial 1 (sharing=hard" in message
    assert message.endswith("failed: mtl_zoo.errors.DataError: tasks.csv, column 'agree_a', row 7: not a number")
