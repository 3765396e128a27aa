"""Checkpoints of a training run, so a killed run resumes where it stopped.

`RunCheckpoints` saves the whole training state with `tf.train.Checkpoint`
— the network's weights, the optimizer's slots and step counter, the
balancer's state (it is a layer of the model), the running values of the
epoch's metrics and what `track` adds (early stopping's best weights) — at
the end of every epoch and, with `every_n_steps`, every that many training
steps. Beside the checkpoint files, `run_state.json` records which checkpoint
is the latest good one, the position in the data (epoch and steps done in
it) and the logs of the finished epochs.

A run restarted with the same recipe calls `restore()`, which loads that
state and returns the position: training continues at the same epoch and
step, with the same batches (training splits are ordered by epoch, see
`mtl_zoo.data.batching.EpochOrder`), so it finishes with the metrics of an
uninterrupted run. Writes are ordered so a half-written checkpoint never
replaces a good one: `tf.train.CheckpointManager` writes new files under a
new name, and `run_state.json` is replaced (atomically, `os.replace`) only
once they are complete; the manager keeps the two latest, so the one the
state names is never deleted first. Under `MultiWorkerMirroredStrategy`
every worker saves (saving is collective), only the chief into the run's
folder.

Example:

>>> checkpoints = RunCheckpoints("saved_models/.run/checkpoints", model, fingerprint)  # doctest: +SKIP
>>> position = checkpoints.restore()  # None on a fresh run  # doctest: +SKIP
>>> model.fit(..., initial_epoch=position.epoch, callbacks=[checkpoints.callback(position)])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from mtl_zoo.errors import CheckpointError

STATE_FILE = "run_state.json"


def recipe_fingerprint(recipe_text: str) -> str:
    """A short hash of a resolved recipe's text: checkpoints resume only the recipe that wrote them.

    Example:

    >>> recipe_fingerprint("name: a") == recipe_fingerprint("name: a") != recipe_fingerprint("name: b")
    True
    """
    return hashlib.sha256(recipe_text.encode()).hexdigest()[:16]


@dataclasses.dataclass
class RunPosition:
    """Where a run stands: the epoch in progress, training steps done in it, and the finished epochs' logs.

    Args:
        epoch: int. Zero-based epoch to continue (or start) with.
        step: int. Training steps of that epoch already done.
        history: dict. Log name -> one value per finished epoch.
    """

    epoch: int = 0
    step: int = 0
    history: dict = dataclasses.field(default_factory=dict)


class RunCheckpoints:
    """Saves and restores a run's training state in `folder`.

    Args:
        folder: str or Path. The run's checkpoint folder (created on first save).
        model: `MultiTaskModel`. Compiled, with its optimizer.
        fingerprint: str. Identifies the recipe (`recipe_fingerprint`);
            `restore` refuses checkpoints another recipe wrote.
        every_n_steps: int or None. Also save every that many training
            steps within an epoch (rounded up to a whole call of the training
            function with `steps_per_execution`). Defaults to None (epoch ends only).
        chief: bool. Whether this process writes `folder` (False: a
            non-chief worker, which saves into a scratch folder). Defaults to True.
    """

    def __init__(self, folder, model, fingerprint: str, every_n_steps: Optional[int] = None, chief: bool = True):
        self.folder = Path(folder)
        self.model = model
        self.fingerprint = fingerprint
        self.every_n_steps = every_n_steps
        self.chief = chief
        self._scratch = None if chief else Path(tempfile.mkdtemp(prefix="mtl_zoo_worker_checkpoints_"))
        self._metric_variables = [variable for metric in model.metrics for variable in metric.variables]
        self._checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, metrics=self._metric_variables)
        self._manager = None
        self._restored_metrics = None
        self.restored_position = None  # the position `restore()` found, if any

    @property
    def _write_folder(self) -> Path:
        return self.folder if self.chief else self._scratch

    def _checkpoint_manager(self):
        if self._manager is None:
            self._write_folder.mkdir(parents=True, exist_ok=True)
            self._manager = tf.train.CheckpointManager(self._checkpoint, str(self._write_folder), max_to_keep=2)
        return self._manager

    def track(self, **trackables) -> None:
        """Saves and restores more state with the model (e.g. early stopping's best weights); call before `restore`.

        Args:
            **trackables: name -> a `tf.Module` or variable, kept under that
                name in every checkpoint.
        """
        for name, trackable in trackables.items():
            setattr(self._checkpoint, name, trackable)

    def restore(self) -> Optional[RunPosition]:
        """Loads the latest good state; returns its position, or None if the folder holds none.

        Raises:
            CheckpointError: the checkpoints were written by another recipe
                or cannot be read.
        """
        state_path = self.folder / STATE_FILE
        if not state_path.exists():
            return None
        try:
            state = json.loads(state_path.read_text())
            path = str(self.folder / state["checkpoint"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{state_path} is unreadable ({error}); delete {self.folder} to start the run "
                                  "afresh.") from None
        if state.get("fingerprint") != self.fingerprint:
            raise CheckpointError(
                f"{self.folder} holds checkpoints of a different recipe (or other --set values); rerun the command "
                f"that wrote them to resume, or delete {self.folder} to start afresh"
            )
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        try:
            self._checkpoint.restore(path).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as error:
            raise CheckpointError(f"checkpoint {path} cannot be restored ({' '.join(str(error).split())[:200]}); "
                                  f"delete {self.folder} to start the run afresh.") from None
        self._restored_metrics = [np.array(variable.numpy()) for variable in self._metric_variables]
        self.restored_position = RunPosition(epoch=int(state["epoch"]), step=int(state["step"]),
                                             history=state.get("history", {}))
        return self.restored_position

    def save(self, position: RunPosition) -> None:
        """Writes a checkpoint of the current state, then points `run_state.json` at it."""
        path = self._checkpoint_manager().save()
        if not self.chief:
            return
        state = {
            "fingerprint": self.fingerprint,
            "checkpoint": os.path.relpath(path, self.folder),
            "epoch": position.epoch,
            "step": position.step,
            "history": position.history,
        }
        partial = self.folder / f".{STATE_FILE}.partial"
        partial.write_text(json.dumps(state))
        os.replace(partial, self.folder / STATE_FILE)

    def callback(self, start: Optional[RunPosition] = None) -> keras.callbacks.Callback:
        """The Keras callback that saves during `fit`, continuing from `start` (None: a fresh run)."""
        return _SaveCheckpoints(self, start or RunPosition())

    def restore_metric_values(self) -> None:
        """Puts the restored running metric values back (after `fit` reset them for the resumed epoch)."""
        if self._restored_metrics is not None:
            for variable, value in zip(self._metric_variables, self._restored_metrics):
                variable.assign(value)

    def remove(self) -> None:
        """Deletes this process's checkpoints (a finished run keeps none)."""
        folder = self._write_folder
        if folder is not None and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)

    def close_scratch(self) -> None:
        """Deletes a non-chief worker's scratch folder."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


class _SaveCheckpoints(keras.callbacks.Callback):
    """Saves at epoch ends and every `every_n_steps` steps; resumes metrics of a mid-epoch start."""

    def __init__(self, checkpoints: RunCheckpoints, start: RunPosition):
        super().__init__()
        self.checkpoints = checkpoints
        self.start = start
        self.history = {key: list(values) for key, values in start.history.items()}
        self.epoch = start.epoch
        self.offset = 0
        self.last_saved_step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.offset = self.start.step if epoch == self.start.epoch else 0
        self.last_saved_step = self.offset
        if self.offset:
            self.checkpoints.restore_metric_values()

    def on_train_batch_end(self, batch, logs=None):
        every = self.checkpoints.every_n_steps
        step = self.offset + batch + 1
        if every and step // every > self.last_saved_step // every:
            self.last_saved_step = step
            self.checkpoints.save(RunPosition(self.epoch, step, self.history))

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.checkpoints.save(RunPosition(epoch + 1, 0, self.history))
