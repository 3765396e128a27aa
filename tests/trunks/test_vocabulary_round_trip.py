"""Adapted vocabularies survive `.keras` and SavedModel exactly, whatever the values.

A gauntlet of awkward values (blank, whitespace, every line-break character,
-1 and 0, unicode, a 5,000-character string, strings that look like numbers)
goes through the `features` trunk (string and int64 categorical columns,
text columns as TF-IDF and as an embedding bag) and the `text` trunk; the
reloaded `.keras` model and the exported SavedModel must look up every value
at the same index and give the same outputs.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtl_zoo
from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.artifacts.saved_model import export_saved_model
from mtl_zoo.trunks.features import features
from mtl_zoo.layers.lookups import ExactIntegerLookup, ExactStringLookup, ExactTextVectorization
from mtl_zoo.trunks.text import text

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
STRINGS = (
    ["", " ", "  x ", "-1", "0", "007", "NA", "null", "None", "NaN", "1e5", "3.0", "[UNK]",
     "Zürich", "日本", "🙂", "x" * 5000, "tail\x00"]
    + LINE_BREAKS
    + [f"left{mark}right" for mark in LINE_BREAKS]
)
INTEGERS = [-1, 0, 7, 1, 2**40, -(2**40), 2**62, np.iinfo(np.int64).max, np.iinfo(np.int64).min]
INPUTS = {
    "city": InputSpec((), "string", feature_type="categorical"),
    "code": InputSpec((), "int64", feature_type="categorical"),
    "review": InputSpec((), "string", feature_type="text"),
}
TASKS = [Task("spend", "regression"), Task("churn", "binary")]


def _table() -> dict:
    """Every gauntlet value twice, after a frequent one, so the rare ones (and "") sort last."""
    size = 2 * len(STRINGS)
    cities = ["oslo"] * 10 + STRINGS * 2
    codes = ([5] * 10 + INTEGERS * (size // len(INTEGERS) + 1))[: len(cities)]
    reviews = ["good food"] * 10 + [f"word{value} next" for value in STRINGS] + STRINGS
    return {
        "city": np.array(cities, dtype=object),
        "code": np.array(codes, dtype="int64"),
        "review": np.array(reviews, dtype=object),
    }


def _adapted_model(trunk, table):
    keras.utils.set_random_seed(0)
    trunk.adapt(tf.data.Dataset.from_tensor_slices(table))
    return build_model({name: INPUTS.get(name, InputSpec((), "string")) for name in table}, trunk, TASKS)


def _round_trips(model, table, folder):
    """The model, its `.keras` reload and its SavedModel's outputs on `table`."""
    model.save(folder / "model.keras")
    reloaded = mtl_zoo.load_model(folder / "model.keras")
    export_saved_model(model, folder / "saved_model")
    served = tf.saved_model.load(str(folder / "saved_model")).signatures["serving_default"]
    outputs = served(**{name: tf.constant(values) for name, values in table.items()})
    return reloaded, model.predict(table, verbose=0), reloaded.predict(table, verbose=0), outputs


def _assert_same_outputs(expected, reloaded, served):
    for name, value in expected.items():
        np.testing.assert_allclose(reloaded[name], value, rtol=0, atol=1e-6, err_msg=f"{name} (.keras)")
        np.testing.assert_allclose(served[name].numpy(), value, rtol=0, atol=1e-6, err_msg=f"{name} (SavedModel)")


def _layer(model, name):
    return model.network.get_layer(name)


@pytest.mark.parametrize("text_output, text_split", [("tf_idf", "word"), ("embedding_bag", "character")])
def test_features_trunk_keeps_every_value_through_keras_and_saved_model(text_output, text_split, tmp_path):
    table = _table()
    trunk = features(INPUTS, units=[4], embedding_dim=3, text_output=text_output, text_split=text_split,
                     text_max_tokens=400, text_sequence_length=12)
    model = _adapted_model(trunk, table)
    reloaded, expected, outputs_reloaded, outputs_served = _round_trips(model, table, tmp_path)

    strings = tf.constant(np.array(STRINGS, dtype=object))
    city = _layer(model, "city_lookup")(strings).numpy()
    assert 0 not in city and len(set(city.tolist())) == len(STRINGS)  # each value its own index, none OOV
    np.testing.assert_array_equal(_layer(reloaded, "city_lookup")(strings).numpy(), city)
    integers = tf.constant(np.array(INTEGERS, dtype="int64"))
    code = _layer(model, "code_lookup")(integers).numpy()
    assert 0 not in code and len(set(code.tolist())) == len(INTEGERS)  # -1 and 0 are ordinary values
    np.testing.assert_array_equal(_layer(reloaded, "code_lookup")(integers).numpy(), code)
    reviews = tf.constant(table["review"])
    vectorized = _layer(model, "review_vectorizer")(reviews).numpy()
    np.testing.assert_array_equal(_layer(reloaded, "review_vectorizer")(reviews).numpy(), vectorized)
    _assert_same_outputs(expected, outputs_reloaded, outputs_served)


@pytest.mark.parametrize("standardize", ["lower_and_strip_punctuation", "none"])
def test_text_trunk_keeps_every_token_through_keras_and_saved_model(standardize, tmp_path):
    titles = np.array(["big fish"] * 10 + [f"{value} fish" for value in STRINGS] + STRINGS, dtype=object)
    trunk = text({"title": InputSpec((), "string")}, num_blocks=1, embedding_dim=4, ffn_units=4, sequence_length=6,
                 standardize=standardize)
    model = _adapted_model(trunk, {"title": titles})
    reloaded, expected, outputs_reloaded, outputs_served = _round_trips(model, {"title": titles}, tmp_path)
    vectorizer = _layer(model, "title_vectorizer")
    assert len(vectorizer.get_config()["vocabulary"]) == vectorizer.vocabulary_size()
    tokens = vectorizer(tf.constant(titles)).numpy()
    np.testing.assert_array_equal(_layer(reloaded, "title_vectorizer")(tf.constant(titles)).numpy(), tokens)
    _assert_same_outputs(expected, outputs_reloaded, outputs_served)


@pytest.mark.parametrize("make, values", [
    (lambda: ExactStringLookup(), STRINGS),
    (lambda: ExactIntegerLookup(), INTEGERS),
    (lambda: ExactStringLookup(output_mode="tf_idf"), STRINGS),
    (lambda: ExactTextVectorization(split="character", output_mode="tf_idf"), STRINGS),
    (lambda: ExactTextVectorization(split="character", output_sequence_length=8), STRINGS),
], ids=["string", "integer", "string_tf_idf", "text_tf_idf", "text_int"])
def test_adapted_vocabulary_and_idf_weights_are_the_config(make, values):
    layer = make()
    data = np.array(values, dtype=object if isinstance(values[0], str) else "int64")
    layer.adapt(tf.data.Dataset.from_tensor_slices(data).batch(8))
    config = layer.get_config()
    copy = type(layer).from_config(keras.utils.deserialize_keras_object(keras.utils.serialize_keras_object(config)))
    assert copy.get_config()["vocabulary"] == config["vocabulary"]
    np.testing.assert_array_equal(copy(tf.constant(data)).numpy(), layer(tf.constant(data)).numpy())


def test_models_saved_with_keras_lookup_layers_still_load(tmp_path):
    """A model of the previous release (Keras's own layers, vocabularies in asset files) loads unchanged."""
    table = {"city": np.array(["oslo", "rome", "oslo", "lima"], dtype=object),
             "code": np.array([3, 3, 9, 4], "int64"),
             "review": np.array(["good food", "bad view", "good", "food"], dtype=object)}
    trunk = features(INPUTS, units=[4], embedding_dim=2, text_max_tokens=20)
    columns = trunk.stem.columns
    columns["city"].lookup = keras.layers.StringLookup(num_oov_indices=1, name="city_lookup")
    columns["code"].lookup = keras.layers.IntegerLookup(num_oov_indices=1, name="code_lookup")
    columns["review"].vectorizer = keras.layers.TextVectorization(max_tokens=20, output_mode="tf_idf",
                                                                  name="review_vectorizer")
    model = _adapted_model(trunk, table)
    assert type(_layer(model, "city_lookup")) is keras.layers.StringLookup
    model.save(tmp_path / "model.keras")
    reloaded = mtl_zoo.load_model(tmp_path / "model.keras")
    for name, value in reloaded.predict(table, verbose=0).items():
        np.testing.assert_allclose(value, model.predict(table, verbose=0)[name], rtol=0, atol=1e-6)
