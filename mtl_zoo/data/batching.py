"""Batches of a split held in memory: shuffled indices, one gather per batch.

`tf.data` pays a fixed cost for every element that passes through `shuffle`
and `batch`, and an example of a tabular or recommendation data set is a
dict of a dozen scalar tensors: shuffling and batching such examples one by
one caps training at a few tens of thousands of examples per second on a
small CPU, below what the model itself can train. `in_memory_batches`
instead reads the split once into one tensor per feature and label
(`materialize`), shuffles only the example *indices* and gathers each batch
with one `tf.gather` per tensor.

The batches hold the same examples in the same order as
`dataset.shuffle(shuffle_buffer, seed).batch(batch_size)` over the examples
themselves: `shuffle` draws the same positions whatever the elements are,
so training results do not change, only the time per epoch. The split is
held in memory once, as `dataset.cache()` would hold it.

Training splits use an `EpochOrder` instead: epoch `e` visits the examples
in the permutation `stateless_shuffle(range(size), seed=[seed, e])`, a
function of the seed and the epoch number alone. `tf.data`'s `shuffle`
keeps its state in the iterator, and a `tf.distribute` strategy's rewrite
of the dataset reseeds it, so the same recipe would see other batches on
two replicas than on one; an epoch-keyed order gives every strategy, every
number of replicas and a run resumed mid-epoch (`skip_batches`) the same
global batches.

Example:

>>> import tensorflow as tf
>>> examples = tf.data.Dataset.from_tensor_slices(({"x": [1.0, 2.0, 3.0]}, {"y": [0.0, 1.0, 0.0]}))
>>> batches = in_memory_batches(examples, batch_size=2)
>>> [batch[0]["x"].numpy().tolist() for batch in batches]
[[1.0, 2.0], [3.0]]
"""

from __future__ import annotations

from typing import Callable, Optional

import keras
import tensorflow as tf

# Largest batch `materialize` asks tf.data for when the split's size is unknown.
_ALL_EXAMPLES = 2**31 - 1


def materialize(dataset: tf.data.Dataset):
    """Reads an unbatched dataset into one tensor per component, examples along axis 0.

    Args:
        dataset: `tf.data.Dataset`. Unbatched and finite, with the same
            shape for every example.

    Returns:
        `(tensors, num_examples)`: the dataset's structure with each
        component stacked over all examples, and their number. An empty
        dataset gives `(None, 0)`.

    Example:

    >>> tensors, size = materialize(tf.data.Dataset.from_tensor_slices({"x": [4, 5]}))
    >>> tensors["x"].numpy().tolist(), size
    ([4, 5], 2)
    """
    size = int(dataset.cardinality())
    for tensors in dataset.batch(size if size > 0 else _ALL_EXAMPLES).take(1):
        return tensors, int(tf.shape(tf.nest.flatten(tensors)[0])[0])
    return None, 0


class EpochOrder:
    """The order of a training split's examples in each epoch, keyed by seed and epoch number.

    Holds the current epoch in a variable that `fit` sets at the start of
    every epoch through `callback()`; the dataset reads it when an epoch's
    iterator starts, so each epoch is a fresh, repeatable permutation.

    Args:
        seed: int. Seed of the permutations.

    Example:

    >>> order = EpochOrder(seed=3)
    >>> examples = tf.data.Dataset.from_tensor_slices({"x": list(range(6))})
    >>> batches = in_memory_batches(examples, 6, order=order)
    >>> first = [int(v) for v in next(iter(batches))["x"]]
    >>> order.set_epoch(1)
    >>> second = [int(v) for v in next(iter(batches))["x"]]
    >>> sorted(first) == sorted(second) == list(range(6)), first != second
    (True, True)
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_order_epoch")

    def set_epoch(self, epoch: int) -> None:
        """Makes the next iterator of the batches visit epoch `epoch`'s permutation."""
        self.epoch.assign(int(epoch))

    def permutation(self, size: int):
        """This epoch's permutation of `range(size)` (an int64 tensor; read inside `tf.data`)."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), self.epoch.read_value()])
        return tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64), seed=seed)

    def callback(self):
        """A Keras callback that sets the epoch at the start of every epoch of `fit`."""
        return _SetEpoch(self)


class _SetEpoch(keras.callbacks.Callback):
    """Sets an `EpochOrder`'s epoch at the start of every epoch of `fit`."""

    def __init__(self, order: EpochOrder):
        super().__init__()
        self.order = order

    def on_epoch_begin(self, epoch, logs=None):
        self.order.set_epoch(epoch)


def in_memory_batches(
    dataset: tf.data.Dataset,
    batch_size: int,
    shuffle_buffer: int = 0,
    seed: Optional[int] = None,
    select: Optional[Callable] = None,
    order: Optional[EpochOrder] = None,
    skip_batches: int = 0,
) -> tf.data.Dataset:
    """Batches of `dataset`, shuffled like `dataset.shuffle(shuffle_buffer, seed)` but by index.

    Args:
        dataset: `tf.data.Dataset`. Unbatched, finite examples.
        batch_size: int. Examples per batch (the last batch may be smaller).
        shuffle_buffer: int. Size of the shuffle buffer, reshuffled every
            epoch; 0 keeps the stored order. Defaults to 0.
        seed: int or None. Seed of the shuffle. Defaults to None.
        select: callable or None. Applied once to the materialized
            examples (e.g. to keep the labels a model trains on) before
            batching. Defaults to None.
        order: `EpochOrder` or None. Visit each epoch in its epoch-keyed
            permutation (`shuffle_buffer` and `seed` are then unused).
            Defaults to None.
        skip_batches: int. With `order`, leave out the first batches of
            every epoch (a run resumed mid-epoch). Defaults to 0.

    Returns:
        A prefetched `tf.data.Dataset` of batches.

    Example:

    >>> examples = tf.data.Dataset.from_tensor_slices({"x": list(range(6))})
    >>> batches = in_memory_batches(examples, 4, shuffle_buffer=6, seed=1)
    >>> sorted(value for batch in batches for value in batch["x"].numpy().tolist())
    [0, 1, 2, 3, 4, 5]
    """
    tensors, size = materialize(dataset)
    if size == 0:
        return dataset.batch(batch_size)
    if select is not None:
        tensors = select(*tensors) if isinstance(tensors, tuple) else select(tensors)
    if order is not None:
        num_batches = -(-size // batch_size) - skip_batches
        indices = (
            tf.data.Dataset.from_tensors(0)
            .flat_map(lambda _: tf.data.Dataset.from_tensor_slices(order.permutation(size)))
            .batch(batch_size)
            .skip(skip_batches)
            .apply(tf.data.experimental.assert_cardinality(max(num_batches, 0)))
        )
        return indices.map(
            lambda index: tf.nest.map_structure(lambda tensor: tf.gather(tensor, index), tensors),
            num_parallel_calls=tf.data.AUTOTUNE,
        ).prefetch(tf.data.AUTOTUNE)
    indices = tf.data.Dataset.range(size)
    if shuffle_buffer:
        indices = indices.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return (
        indices.batch(batch_size)
        .map(lambda index: tf.nest.map_structure(lambda tensor: tf.gather(tensor, index), tensors),
             num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
