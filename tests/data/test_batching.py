"""In-memory batches by shuffled index: the same examples in the same order as shuffling the examples."""

import numpy as np
import tensorflow as tf

from mtl_zoo.data.batching import in_memory_batches, materialize


def examples(size: int = 100) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    features = {"user": np.arange(size, dtype="int64"), "city": np.array([f"c{i % 7}" for i in range(size)]),
                "price": rng.random(size).astype("float32")}
    labels = {"click": (rng.random(size) > 0.5).astype("float32"), "stars": rng.integers(0, 5, size).astype("int32")}
    return tf.data.Dataset.from_tensor_slices((features, labels))


def flattened(batches) -> list:
    return [[tensor.numpy().tolist() for tensor in tf.nest.flatten(batch)] for batch in batches]


def test_batches_equal_shuffling_the_examples_epoch_after_epoch():
    expected = examples().shuffle(30, seed=5).batch(16)
    batches = in_memory_batches(examples(), 16, shuffle_buffer=30, seed=5)
    for _ in range(3):  # reshuffled every epoch, the same way
        assert flattened(batches) == flattened(expected)
    assert flattened(batches) != flattened(in_memory_batches(examples(), 16))  # it does shuffle


def test_without_shuffling_the_order_is_kept_and_the_last_batch_is_short():
    batches = list(in_memory_batches(examples(10), 4))
    assert [batch[0]["user"].numpy().tolist() for batch in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0]["city"].dtype == tf.string and batches[0][1]["stars"].dtype == tf.int32


def test_select_keeps_the_labels_asked_for():
    batches = in_memory_batches(examples(), 50, select=lambda features, labels: (features, {"liked": labels["click"]}))
    features, labels = next(iter(batches))
    assert sorted(labels) == ["liked"] and sorted(features) == ["city", "price", "user"]
    assert labels["liked"].numpy().tolist() == [row[1]["click"].numpy() for row in examples().take(50)]


def test_materialize_of_an_unknown_size_and_of_an_empty_dataset():
    unknown = examples(12).filter(lambda features, labels: features["user"] % 2 == 0)
    tensors, size = materialize(unknown)
    assert size == 6 and tensors[0]["user"].numpy().tolist() == [0, 2, 4, 6, 8, 10]
    assert materialize(examples(0)) == (None, 0)
    assert list(in_memory_batches(examples(0), 4, shuffle_buffer=10)) == []
