"""Progress output: the per-task metrics table and the one-line-per-epoch callback."""

import io
import re

from mtl_zoo.training.progress import EpochProgress, format_metrics_table


def test_metrics_table_lines_up_every_metric_and_marks_missing_ones():
    table = format_metrics_table({"left_digit": {"loss": 0.12345, "accuracy": 0.97}, "y": {"loss": 1.5, "mae": 10.25}})
    assert table == (
        "task        loss    accuracy  mae\n"
        "left_digit  0.1235  0.9700    -\n"
        "y           1.5000  -         10.2500"
    )


def test_epoch_progress_prints_each_task_with_its_validation_value():
    stream = io.StringIO()
    progress = EpochProgress({"left": ["loss", "accuracy"], "right": ["loss"]}, stream=stream)
    progress.set_params({"epochs": 3})
    progress.on_epoch_begin(0)
    progress.on_epoch_end(0, {"loss": 1.25, "left_loss": 0.5, "left_accuracy": 0.875, "val_left_accuracy": 0.75,
                              "right_loss": 0.75})
    line = re.sub(r"\[\d+\.\ds\]", "[0.0s]", stream.getvalue())
    assert line == ("epoch 1/3 [0.0s] loss 1.2500 | left: loss 0.5000, accuracy 0.8750 (val 0.7500)"
                    " | right: loss 0.7500\n")


def test_epoch_progress_shows_the_multi_task_score_when_it_is_logged():
    stream = io.StringIO()
    progress = EpochProgress({"left": ["loss"]}, stream=stream)
    progress.set_params({"epochs": 2})
    progress.on_epoch_begin(1)
    progress.on_epoch_end(1, {"loss": 0.5, "left_loss": 0.5, "multi_task_score": -0.25})
    assert re.sub(r"\[\d+\.\ds\]", "[0.0s]", stream.getvalue()) == (
        "epoch 2/2 [0.0s] loss 0.5000 (val score -0.2500) | left: loss 0.5000\n")
