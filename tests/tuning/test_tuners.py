"""The search's state files are replaced whole, so a search killed while it saves still resumes."""

import json
import os

import keras
import keras_tuner

from mtl_zoo.tuning.tuners import RandomSearchTuner


def build(hp):
    return keras.Sequential([keras.layers.Dense(hp.Int("units", 1, 4))])


def test_every_state_file_is_written_beside_and_moved_into_place(tmp_path, monkeypatch):
    tuner = RandomSearchTuner(build, objective=keras_tuner.Objective("score", direction="max"), max_trials=2, directory=str(tmp_path), project_name="search")
    replaced = []
    real_replace = os.replace

    def replace(source, target):
        replaced.append((os.path.basename(str(source)), os.path.basename(str(target))))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    trial = tuner.oracle.create_trial("tuner0")
    tuner.save()

    assert ("trial.json.partial", "trial.json") in replaced
    assert ("oracle.json.partial", "oracle.json") in replaced
    assert ("tuner0.json.partial", "tuner0.json") in replaced
    folder = tmp_path / "search"
    saved = json.loads((folder / f"trial_{trial.trial_id}" / "trial.json").read_text())
    assert saved["trial_id"] == trial.trial_id
    assert json.loads((folder / "oracle.json").read_text())["ongoing_trials"] == {"tuner0": trial.trial_id}
    assert not list(folder.rglob("*.partial"))
