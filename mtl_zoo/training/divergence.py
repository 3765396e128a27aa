"""Stop training when a task's loss stops being a finite number.

Keras' own `TerminateOnNaN` looks at the total loss and stops quietly;
`StopOnNonFiniteLoss` looks at every task's loss after each call of the
training function and raises `TrainingDivergedError` naming the task, so
the command line prints one line and the run's last good checkpoint (taken
before the step that diverged, see `mtl_zoo.training.checkpoints`) stays in place.
Put it before the checkpoint callback, so a diverged state is never saved.

Example:

>>> import math
>>> guard = StopOnNonFiniteLoss(["left_digit", "right_digit"])
>>> guard.on_train_batch_end(3, {"loss": 1.0, "left_digit_loss": 0.5, "right_digit_loss": math.nan})
Traceback (most recent call last):
...
mtl_zoo.errors.TrainingDivergedError: task 'right_digit': its training loss became nan at epoch 1, step 4; lower training.learning_rate, check the task's labels for extreme values, or set a loss_weight below 1
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import keras

from mtl_zoo.errors import TrainingDivergedError


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises `TrainingDivergedError` when a task's (or the total) training loss is NaN or infinite.

    Args:
        task_names: list of str. The tasks whose `{task}_loss` log to watch.
        checkpoint_folder: str or None. Where the run's last good checkpoint
            is, for the message. Defaults to None.
    """

    def __init__(self, task_names: Sequence[str], checkpoint_folder: Optional[str] = None):
        super().__init__()
        self.task_names = list(task_names)
        self.checkpoint_folder = checkpoint_folder
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        for name in self.task_names + ["total"]:
            key = "loss" if name == "total" else f"{name}_loss"
            if key not in logs:
                continue
            value = float(logs[key])
            if not math.isfinite(value):
                subject = "the total training loss (every task's loss is finite)" if name == "total" else (
                    f"task '{name}': its training loss")
                kept = (f"; the last good checkpoint is kept in {self.checkpoint_folder} (rerun the same command to "
                        "resume from it once fixed)" if self.checkpoint_folder else "")
                raise TrainingDivergedError(
                    name,
                    f"{subject} became {value} at epoch {self.epoch + 1}, step {batch + 1}{kept}; "
                    "lower training.learning_rate, check the task's labels for extreme values, or set a "
                    "loss_weight below 1",
                )
