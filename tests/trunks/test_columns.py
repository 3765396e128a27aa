"""Raw-column preprocessing: adapted statistics against numpy, OOV buckets, TF-IDF, missing values."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.data.source import InputSpec
from mtl_zoo.layers.embedding_bag import EmbeddingBag
from mtl_zoo.layers.fill_missing import FillMissing
from mtl_zoo.trunks.columns import LookupColumn, NumericColumn, TextColumn


def batches(**columns):
    return tf.data.Dataset.from_tensor_slices(columns).batch(4)


def test_fill_missing_zeroes_nan_and_appends_indicators():
    values = np.array([[1.5, np.nan], [np.nan, -2.0]], "float32")
    np.testing.assert_array_equal(FillMissing()(values).numpy(), [[1.5, 0, 0, 1], [0, -2.0, 1, 0]])
    np.testing.assert_array_equal(FillMissing(indicators=False)(values).numpy(), [[1.5, 0], [0, -2.0]])


def test_embedding_bag_is_the_mean_of_non_padding_embeddings():
    bag = EmbeddingBag(input_dim=5, output_dim=3)
    tokens = np.array([[1, 2, 0, 0], [4, 4, 3, 0], [0, 0, 0, 0]])
    bag.build(tokens.shape)
    table = bag.get_weights()[0]
    expected = [table[[1, 2]].mean(0), table[[4, 4, 3]].mean(0), np.zeros(3)]
    np.testing.assert_allclose(bag(tokens).numpy(), expected, rtol=1e-6)
    assert keras.layers.deserialize(keras.layers.serialize(bag)).get_config()["input_dim"] == 5


def test_numeric_column_normalizes_with_the_finite_training_values_and_marks_nan():
    values = np.array([1.0, np.nan, 4.0, 7.0, np.nan, 10.0], "float32")
    column = NumericColumn("income", InputSpec((), feature_type="numeric"))
    column.adapt(batches(income=values))
    raw = keras.Input((), name="income")
    model = keras.Model(raw, column(raw))
    result = model(np.array([4.0, np.nan, 13.0], "float32")).numpy()
    mean, std = np.nanmean(values), np.nanstd(values)
    np.testing.assert_allclose(result[:, 0], [(4 - mean) / std, 0.0, (13 - mean) / std], rtol=1e-5)
    np.testing.assert_array_equal(result[:, 1], [0, 1, 0])


def test_numeric_column_without_a_finite_training_value_says_which_column():
    column = NumericColumn("income", InputSpec((), feature_type="numeric"))
    with pytest.raises(ValueError, match="Numeric column 'income' has no finite value"):
        column.adapt(batches(income=np.full(6, np.nan, "float32")))


@pytest.mark.parametrize("train, unseen, dtype", [
    (np.array(["oslo", "rome", "oslo", "lima", "oslo", "rome"]), "paris", "string"),
    (np.array([7, 3, 7, 9, 7, 3], "int64"), 12345, "int64"),
])
def test_lookup_column_orders_by_frequency_and_sends_unseen_values_to_the_oov_bucket(train, unseen, dtype):
    column = LookupColumn("key", InputSpec((), dtype, feature_type="categorical"), embedding_dim=2)
    column.adapt(batches(key=train))
    assert column.lookup.vocabulary_size() == 4  # OOV + three values
    indices = column.lookup(tf.constant([train[0], train[1], train[3], unseen])).numpy().tolist()
    assert indices == [1, 2, 3, 0]


def test_id_column_keeps_only_the_most_frequent_values():
    column = LookupColumn("user", InputSpec((), "int64", feature_type="id"), embedding_dim=2, max_tokens=3)
    column.adapt(batches(user=np.array([5, 5, 5, 6, 6, 7], "int64")))
    assert column.lookup(tf.constant([5, 6, 7], "int64")).numpy().tolist() == [1, 2, 0]


def test_text_column_tf_idf_weights_match_the_closed_form():
    texts = np.array(["good food", "bad food food", "good view", "view"])
    column = TextColumn("review", "tf_idf", "word", ngrams=1, max_tokens=10, sequence_length=8, embedding_dim=2)
    column.adapt(batches(review=texts))
    vocabulary = column.vectorizer.get_vocabulary()
    weights = column.vectorizer(tf.constant(["Food, food good!"])).numpy()[0]
    documents = len(texts)

    def idf(token):
        frequency = sum(token in text.split() for text in texts)
        return math.log(1 + documents / (1 + frequency))

    assert weights[vocabulary.index("food")] == pytest.approx(2 * idf("food"), rel=1e-5)
    assert weights[vocabulary.index("good")] == pytest.approx(idf("good"), rel=1e-5)
    assert weights[vocabulary.index("bad")] == 0.0


def test_text_column_character_ngrams_cover_unseen_words():
    column = TextColumn("name", "embedding_bag", "character", ngrams=2, max_tokens=50, sequence_length=12,
                        embedding_dim=3)
    column.adapt(batches(name=np.array(["anna", "hannah", "nan"])))
    vocabulary = set(column.vectorizer.get_vocabulary())
    assert {"a", "n", "h", "a n", "n n"} <= vocabulary
    tokens = column.vectorizer(tf.constant(["nana", ""])).numpy()
    assert (tokens[0, :7] > 1).all()  # n, a, n, a and three bigrams: all known, none OOV
    assert (tokens[1] == 0).all()
