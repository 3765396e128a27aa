"""The trade-off plot (one, two and more tasks) and the affinity heatmap draw and write PNGs."""

import pytest

from mtl_zoo.training.score import TaskObjective
from mtl_zoo.tuning.pareto import pareto_flags
from mtl_zoo.tuning.search_plots import plot_affinity, plot_tradeoff


def rows_for(tasks, table):
    objective = TaskObjective({task: metric for task, metric in tasks})
    rows = [{"trial": index, **{f"{task}_{metric}": value for (task, metric), value in zip(tasks, values)}}
            for index, values in enumerate(table)]
    flags = pareto_flags([{task: row[f"{task}_{metric}"] for task, metric in tasks} for row in rows],
                         objective.directions())
    for row, flag in zip(rows, flags):
        row["pareto"], row["best"] = flag, row["trial"] == 0
    return rows, objective


@pytest.mark.parametrize("tasks, table", [
    ([("a", "accuracy")], [[0.9], [0.8]]),
    ([("a", "accuracy"), ("b", "rmse")], [[0.9, 0.5], [0.8, 0.3], [0.7, 0.6]]),
    ([("a", "accuracy"), ("b", "rmse"), ("c", "auc")], [[0.9, 0.5, 0.7], [0.8, 0.3, 0.6], [0.7, 0.6, 0.5]]),
])
def test_tradeoff_plot_for_any_number_of_tasks(tasks, table, tmp_path):
    rows, objective = rows_for(tasks, table)
    figure = plot_tradeoff(rows, objective, tmp_path / "tradeoff.png")
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
    front = [row["trial"] for row in rows if row["pareto"]]
    assert figure.axes[0].get_title().endswith(f"front: trials {front}")


def test_affinity_heatmap(tmp_path):
    figure = plot_affinity([[0.1, -0.2], [0.05, 0.3]], ["a", "b"], "affinity", tmp_path / "affinity.png")
    assert (tmp_path / "affinity.png").stat().st_size > 0
    assert [text.get_text() for text in figure.axes[0].texts] == ["0.1", "-0.2", "0.05", "0.3"]
