"""Learning curves: a valid PNG with a loss and a metrics panel per task."""

import sys

import pytest
from PIL import Image

from mtl_zoo.training.learning_curves import PANEL_SIZE, plot_learning_curves

HISTORY = {
    "loss": [2.0, 1.0, 0.5],
    "left_digit_loss": [0.9, 0.4, 0.3],
    "val_left_digit_loss": [0.8, 0.5, 0.4],
    "left_digit_accuracy": [0.7, 0.9, 0.95],
    "val_left_digit_accuracy": [0.75, 0.88, 0.9],
    "price_loss": [3.0, 2.0, 1.0],
    "val_price_loss": [3.5, 2.5, 1.5],
    "price_mae": [1.5, 1.0, 0.8],
    "val_price_mae": [1.6, 1.2, 0.9],
    "price_rmse": [2.0, 1.5, 1.1],
}


def test_writes_a_png_with_a_loss_and_a_metrics_panel_per_task(tmp_path):
    path = tmp_path / "curves.png"
    figure = plot_learning_curves(HISTORY, {"left_digit": ["accuracy"], "price": ["mae", "rmse"]}, path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        assert image.size == (int(2 * PANEL_SIZE[0] * 100), int(2 * PANEL_SIZE[1] * 100))
    assert [axes.get_title() for axes in figure.axes] == [
        "left_digit: loss", "left_digit: metrics", "price: loss", "price: metrics"]
    loss, metrics = figure.axes[2:]
    assert [line.get_label() for line in loss.lines] == ["loss", "val loss"]
    assert [line.get_label() for line in metrics.lines] == ["mae", "val mae", "rmse"]
    assert list(metrics.lines[0].get_xdata()) == [1, 2, 3]
    assert list(metrics.lines[1].get_ydata()) == pytest.approx(HISTORY["val_price_mae"])


def test_a_task_without_metrics_gets_an_empty_metrics_panel(tmp_path):
    figure = plot_learning_curves(HISTORY, {"left_digit": []}, tmp_path / "curves.png")
    assert len(figure.axes) == 2
    assert not figure.axes[1].lines and figure.axes[1].texts[0].get_text() == "nothing recorded"


def test_does_not_touch_pyplot_or_the_process_wide_backend(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    plot_learning_curves(HISTORY, {"price": ["mae"]}, tmp_path / "curves.png")
    assert matplotlib.get_backend() == backend
    assert "matplotlib.pyplot" not in sys.modules or sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_task_weights_plot_has_one_line_per_task_with_its_logged_weights(tmp_path):
    from mtl_zoo.training.learning_curves import plot_task_weights

    history = {"loss": [1.0, 0.5], "a_weight": [1.0, 0.6, 0.4], "b_weight": [1.0, 1.4, 1.6], "a_loss": [2.0, 1.0]}
    figure = plot_task_weights(history, ["a", "b", "c"], tmp_path / "weights.png")
    with Image.open(tmp_path / "weights.png") as image:
        assert image.format == "PNG"
        image.verify()
    lines = figure.axes[0].lines
    assert [line.get_label() for line in lines] == ["a", "b"]  # c logged no weight
    assert list(lines[1].get_xdata()) == [1, 2, 3] and list(lines[1].get_ydata()) == [1.0, 1.4, 1.6]
    empty = plot_task_weights({}, ["a"], tmp_path / "empty.png")
    assert empty.axes[0].texts[0].get_text() == "nothing recorded"
