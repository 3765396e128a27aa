"""A `text`-trunk model written before the trunk used keras_hub's layers still loads and predicts the same.

`tests/fixtures/pre_keras_hub_text_artifact/` holds `model.keras` of a tiny `text`-trunk model (one
Transformer block, subword embeddings, a regression and a classification task) written with the zoo's own
`TokenAndPositionEmbedding` and `TransformerEncoderBlock`, and `expected.npz`: raw titles (seen words,
an empty title, unseen words, a title longer than `sequence_length`) and that model's predictions for them.
`source.md` there is the script that wrote both. The two layers stay registered in `mtl_zoo.layers.text`.
"""

from pathlib import Path

import numpy as np
import pytest

import mtl_zoo

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pre_keras_hub_text_artifact"


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURE / "expected.npz") as stored:
        outputs = {name[len("output_"):]: stored[name] for name in stored.files if name.startswith("output_")}
        return stored["input_title"].astype(object), outputs


def test_keras_file_with_the_earlier_text_layers_loads_in_safe_mode_and_predicts_the_same(expected):
    titles, outputs = expected
    model = mtl_zoo.load_model(FIXTURE / "model.keras")  # safe mode
    layers = {type(layer).__module__ + "." + type(layer).__name__ for layer in model.network._flatten_layers()}
    assert {"mtl_zoo.layers.text.TokenAndPositionEmbedding", "mtl_zoo.layers.text.TransformerEncoderBlock"} <= layers
    predictions = model.predict({"title": titles}, verbose=0)
    assert set(predictions) == set(outputs)
    for task, values in outputs.items():
        np.testing.assert_allclose(np.asarray(predictions[task]), values, rtol=1e-5, atol=1e-6)
