"""An artifact written before the package was split into folders still loads and predicts.

`tests/fixtures/pre_layout_artifact/` holds `model.keras` and `saved_model/` of a tiny
`features`-trunk model (numeric, categorical and text columns; a classification and a
regression task) trained one epoch by `mtl-zoo train` on the flat layout, and
`expected.npz`: fixed raw inputs (unseen categories, empty text, a missing number) and the
SavedModel's outputs for them. Keras classes are registered by name under package
`mtl_zoo`, so the file must load whatever module now defines each class.
"""

from pathlib import Path

import numpy as np
import pytest

import mtl_zoo

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pre_layout_artifact"


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURE / "expected.npz") as stored:
        inputs = {name[len("input_"):]: stored[name] for name in stored.files if name.startswith("input_")}
        outputs = {name[len("output_"):]: stored[name] for name in stored.files if name.startswith("output_")}
    return inputs, outputs


def test_keras_file_predicts_what_the_saved_model_served(expected):
    inputs, outputs = expected
    model = mtl_zoo.load_model(FIXTURE / "model.keras")
    raw = {name: values.astype(object) if values.dtype.kind == "U" else values for name, values in inputs.items()}
    predictions = model.predict(raw, verbose=0)
    assert set(predictions) == set(outputs)
    for task, values in outputs.items():
        np.testing.assert_allclose(np.asarray(predictions[task]), values, rtol=1e-5, atol=1e-6)


def test_saved_model_still_serves_the_same_outputs(expected):
    import tensorflow as tf

    inputs, outputs = expected
    served = tf.saved_model.load(str(FIXTURE / "saved_model")).signatures["serving_default"]
    result = served(**{name: tf.constant(values) for name, values in inputs.items()})
    for task, values in outputs.items():
        np.testing.assert_allclose(result[task].numpy(), values, rtol=1e-5, atol=1e-6)
