"""text trunk: padding masks respected, masked mean pooling, raw strings through .keras and SavedModel."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.errors import OptionError
from mtl_zoo.testing import check_model
from mtl_zoo.layers.text import MaskedMeanPooling
from mtl_zoo.trunks.text import text, _bilstm_block, _transformer_block

INPUTS = {"title": InputSpec((), "string")}
TASKS = [Task("genres", "multilabel", classes=3), Task("rating", "regression"), Task("decade", "classification", 4)]
TITLES = np.array(["the big sleep", "big fish", "a fish called wanda", "sleep", "the big lebowski", "wanda"] * 4,
                  dtype=object)
MASK = np.array([[True, True, True, False, False], [True, False, False, False, False]])


def _padded_inputs(seed):
    """Two sequences whose real positions are fixed and whose padded positions vary with `seed`."""
    rng = np.random.default_rng(seed)
    x = np.random.default_rng(0).normal(size=(2, 5, 6)).astype("float32")
    return np.where(MASK[:, :, None], x, rng.normal(scale=10.0, size=x.shape).astype("float32"))


@pytest.mark.parametrize("make_block, mask_argument", [
    (_transformer_block(num_heads=2, ffn_units=8, dropout=0.0), "padding_mask"),
    (_bilstm_block(4, 0.0), "mask"),
], ids=["transformer", "bilstm"])
def test_padded_positions_do_not_change_real_positions_or_the_pooled_vector(make_block, mask_argument):
    block, pool = make_block("block"), MaskedMeanPooling()
    outputs = [block(_padded_inputs(seed), **{mask_argument: MASK}).numpy() for seed in (1, 2)]
    np.testing.assert_allclose(outputs[0][MASK], outputs[1][MASK], atol=1e-5)
    assert not np.allclose(_padded_inputs(1), _padded_inputs(2))
    pooled = [pool(output, mask=MASK).numpy() for output in outputs]
    np.testing.assert_allclose(pooled[0], pooled[1], atol=1e-5)


def test_masked_mean_pooling_matches_numpy():
    x = np.arange(2 * 5 * 3, dtype="float32").reshape(2, 5, 3)
    expected = np.stack([x[0, :3].mean(0), x[1, :1].mean(0)])
    np.testing.assert_allclose(MaskedMeanPooling()(x, mask=MASK).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(MaskedMeanPooling()(x, mask=np.zeros_like(MASK)).numpy(), 0.0)


def _labels(size):
    rng = np.random.default_rng(0)
    return {"genres": rng.integers(0, 2, (size, 3)).astype("float32"),
            "rating": rng.normal(size=(size, 1)).astype("float32"),
            "decade": rng.integers(0, 4, size).astype("int64")}


def _adapted(**options):
    trunk = text(INPUTS, num_blocks=1, embedding_dim=8, ffn_units=8, lstm_units=4, sequence_length=6, **options)
    return trunk.adapt(tf.data.Dataset.from_tensor_slices({"title": TITLES}))


@pytest.mark.parametrize("encoder", ["transformer", "bilstm"])
def test_raw_strings_round_trip_keras_and_saved_model(encoder, tmp_path):
    trunk = _adapted(encoder=encoder)
    model = build_model(INPUTS, trunk, TASKS)
    history = check_model(model, {"title": TITLES}, _labels(len(TITLES)), tmp_path)
    assert np.isfinite(history["loss"]).all()
    outputs = model.predict({"title": np.array(["the big fish", "unseen words only"], dtype=object)}, verbose=0)
    assert outputs["genres"].shape == (2, 3) and outputs["decade"].shape == (2, 4)


def test_extra_padding_words_do_not_change_predictions():
    """A text and the same text with words past `sequence_length` cut off give one output; padding is masked."""
    trunk = _adapted()
    model = build_model(INPUTS, trunk, TASKS)
    short = model.predict({"title": np.array(["big fish"], dtype=object)}, verbose=0)
    vectorizer = trunk.stem.vectorizer
    assert vectorizer(["big fish"]).numpy().tolist() == [[vectorizer(["big"]).numpy()[0, 0],
                                                         vectorizer(["fish"]).numpy()[0, 0], 0, 0, 0, 0]]
    longer = model.predict({"title": np.array(["big fish big fish big fish sleep"], dtype=object)}, verbose=0)
    assert not np.allclose(short["rating"], longer["rating"])


@pytest.mark.parametrize("encoder, subword_buckets", [("transformer", 0), ("bilstm", 0), ("transformer", 64),
                                                     ("bilstm", 64)])
def test_the_padding_row_of_the_token_table_never_reaches_the_outputs(encoder, subword_buckets):
    """The Keras mask goes from the embedding (with or without subwords) through the blocks to the pooling."""
    model = build_model(INPUTS, _adapted(encoder=encoder, subword_buckets=subword_buckets), TASKS)
    titles = {"title": np.array(["big fish", "sleep", ""], dtype=object)}
    before = model.predict(titles, verbose=0)
    table = model.network.get_layer("title_embedding").trainable_weights[0]
    assert tuple(table.shape) == (model.network.get_layer("title_vectorizer").vocabulary_size(), 8)
    values = table.numpy()
    values[0] = 100.0
    table.assign(values)
    after = model.predict(titles, verbose=0)
    for task in before:
        np.testing.assert_allclose(after[task], before[task], atol=1e-6)


def test_pooling_none_keeps_one_vector_per_token():
    trunk = text(INPUTS, num_blocks=1, embedding_dim=4, ffn_units=4, sequence_length=7, pooling="none")
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"title": TITLES}))
    import keras

    inputs = keras.Input((), dtype="string")
    x = trunk.stem({"title": inputs})
    assert tuple(trunk.blocks[0]("b")(x).shape) == (None, 7, 4) and trunk.num_blocks == 1


@pytest.mark.parametrize("options, field", [
    ({"encoder": "gru"}, "encoder"), ({"pooling": "max"}, "pooling"), ({"num_heads": 3}, "num_heads"),
    ({"num_blocks": 0}, "num_blocks"), ({"max_tokens": 2}, "max_tokens"),
])
def test_bad_options_are_one_line_errors(options, field):
    with pytest.raises(OptionError, match=f"Received: .*{field}"):
        text(INPUTS, **options)


def test_non_string_input_is_refused():
    with pytest.raises(ValueError, match="one string input"):
        text({"title": InputSpec((3,))})
