"""text trunk options: subword embeddings, standardization that keeps tokens one to one, mean-max pooling."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.errors import OptionError
from mtl_zoo.testing import check_model
from mtl_zoo.layers.text import MaskedMeanMaxPooling, SubwordEmbedding, standardize_text
from mtl_zoo.trunks.text import text

INPUTS = {"title": InputSpec((), "string")}


def _expected_word_vector(layer, word):
    """numpy: the mean of the table rows of the hashed 2..max_ngram-grams of '<word>'."""
    wrapped = f"<{word}>"
    grams = [wrapped[i:i + n] for n in range(2, layer.max_ngram + 1) for i in range(len(wrapped) - n + 1)]
    rows = tf.strings.to_hash_bucket_fast(grams, layer.num_buckets).numpy()
    return layer.embeddings.numpy()[rows].mean(axis=0)


def test_subword_vectors_are_the_mean_of_hashed_character_ngrams():
    layer = SubwordEmbedding(num_buckets=50, sequence_length=4, embedding_dim=3, max_ngram=3)
    vectors = layer(np.array(["Big, fish!", "ox"])).numpy()
    np.testing.assert_allclose(vectors[0, 0], _expected_word_vector(layer, "big"), rtol=1e-6)
    np.testing.assert_allclose(vectors[0, 1], _expected_word_vector(layer, "fish"), rtol=1e-6)
    np.testing.assert_allclose(vectors[1, 0], _expected_word_vector(layer, "ox"), rtol=1e-6)
    assert (vectors[0, 2:] == 0).all() and (vectors[1, 1:] == 0).all()
    grams = layer.ngram_ids(np.array(["ox"])).to_list()
    assert len(grams[0][0]) == 3 + 2  # "<o", "ox", "x>", "<ox", "ox>"


def test_words_past_sequence_length_are_dropped_like_the_vectorizer_drops_them():
    layer = SubwordEmbedding(num_buckets=50, sequence_length=2, embedding_dim=2)
    assert layer.ngram_ids(np.array(["a b c d", "a"])).row_lengths().numpy().tolist() == [2, 1]
    assert layer(np.array(["a b c d"])).shape == (1, 2, 2)


@pytest.mark.parametrize("standardize", ["lower_and_strip_punctuation", "lower", "none"])
def test_the_subwords_and_the_vectorizer_see_the_same_tokens(standardize):
    sentences = np.array(["EU rejects German call to boycott British lamb .", "Peter Blackburn , U.N. -- 4-3"])
    trunk = text(INPUTS, num_blocks=1, embedding_dim=4, ffn_units=4, sequence_length=12, standardize=standardize,
                 subword_buckets=16, pooling="none")
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"title": sentences}))
    vocabulary = trunk.stem.vectorizer.get_vocabulary()
    token_ids = trunk.stem.vectorizer(sentences).numpy()
    words = tf.strings.split(standardize_text(sentences, standardize)).to_list()
    for row, expected in enumerate(words):
        assert [vocabulary[i].encode() for i in token_ids[row] if i] == expected
    if standardize == "none":  # one token per whitespace-separated token, case and punctuation kept
        assert [len(words[0]), len(words[1])] == [9, 6] and words[1][1:3] == [b"Blackburn", b","]
    layer = SubwordEmbedding(16, 12, 4, standardize=standardize)
    assert layer.ngram_ids(sentences).row_lengths().numpy().tolist() == [len(w) for w in words]


def test_mean_max_pooling_matches_numpy():
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, False], [False, False, False, False]])
    pooled = MaskedMeanMaxPooling()(x, mask=mask).numpy()
    np.testing.assert_allclose(pooled[0], np.concatenate([x[0, :2].mean(0), x[0, :2].max(0)]), rtol=1e-6)
    np.testing.assert_allclose(pooled[1], 0.0)


def test_subwords_and_mean_max_round_trip_keras_and_saved_model(tmp_path):
    titles = np.array(["the big sleep", "big fish", "a fish called wanda", "sleep", "the big lebowski"] * 4,
                      dtype=object)
    trunk = text(INPUTS, num_blocks=1, embedding_dim=8, ffn_units=8, sequence_length=6, subword_buckets=32,
                 embedding_dropout=0.2, pooling="mean_max")
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"title": titles}))
    tasks = [Task("rating", "regression"), Task("decade", "classification", 3)]
    rng = np.random.default_rng(0)
    labels = {"rating": rng.normal(size=(len(titles), 1)).astype("float32"),
              "decade": rng.integers(0, 3, len(titles)).astype("int64")}
    model = build_model(INPUTS, trunk, tasks)
    history = check_model(model, {"title": titles}, labels, tmp_path)
    assert np.isfinite(history["loss"]).all()
    # an unseen word is OOV for the vocabulary but still has a spelling, so two OOV titles differ
    outputs = model.predict({"title": np.array(["zzyzx", "qwerty"], dtype=object)}, verbose=0)
    assert not np.allclose(outputs["rating"][0], outputs["rating"][1])


@pytest.mark.parametrize("options, field", [
    ({"standardize": "upper"}, "standardize"), ({"subword_buckets": -1}, "subword_buckets"),
    ({"subword_ngrams": 1}, "subword_ngrams"), ({"embedding_dropout": 1.0}, "embedding_dropout"),
    ({"pooling": "max"}, "pooling"),
])
def test_bad_options_are_one_line_errors(options, field):
    with pytest.raises(OptionError, match=f"Received: .*{field}"):
        text(INPUTS, **options)
