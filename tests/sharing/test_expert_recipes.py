"""The mixture-of-experts MultiDigits recipes: one epoch from the CLI clearly beats chance on both digits.

Full-accuracy figures (the README tables) come from `benchmarks/zoo_accuracy.py`.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from mtl_zoo.cli import main
from mtl_zoo.sharing.expert_usage import expert_usage

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("scheme, num_experts", [("mmoe", 4), ("ple", 3)])
def test_recipe_clearly_beats_chance_on_both_digits_after_one_epoch(scheme, num_experts, tmp_path,
                                                                   multi_digits_data_dir, capsys):
    folder = tmp_path / scheme
    status = main(["train", str(ROOT / "recipes" / f"multidigits_{scheme}.yaml"), "--output", str(folder),
                   "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1"])
    assert status == 0, capsys.readouterr()
    metrics = json.loads((folder / "metrics.json").read_text())
    for task in ("left_digit", "right_digit"):
        # Chance is 0.1; one epoch measured 0.88 (mmoe and ple). Full-accuracy figures: benchmarks/zoo_accuracy.py.
        assert metrics["test"][task]["accuracy"] >= 0.6, metrics["test"]
    model = keras.models.load_model(folder / "model.keras")
    images = np.random.default_rng(0).random((16, 12, 20, 1), dtype="float32")
    usage = expert_usage(model, {"image": images})
    assert sorted(usage) == ["left_digit", "right_digit"]
    for task in usage:  # the saved model keeps its gate outputs; ple's last level: 1 own + 2 shared experts
        assert usage[task].shape == (num_experts,)
        np.testing.assert_allclose(usage[task].sum(), 1.0, rtol=1e-5)
