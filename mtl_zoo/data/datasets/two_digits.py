"""What the two-digit data sets (MultiDigits, MultiMNIST) share: features, loading, registration.

Example:

>>> two_digit_features((12, 20))["image"].shape
(12, 20, 1)
"""

from __future__ import annotations

import functools

import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

DIGIT_LABEL = LabelSpec("classification", classes=10, missing="-1")


def two_digit_features(canvas_shape) -> tfds.features.FeaturesDict:
    """TFDS features of a two-digit example: image, both labels, both source indices.

    Args:
        canvas_shape: (height, width) of the grayscale image.
    """
    return tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=tuple(canvas_shape) + (1,)),
        "left_digit": tfds.features.ClassLabel(num_classes=10),
        "right_digit": tfds.features.ClassLabel(num_classes=10),
        "left_index": tf.int64,
        "right_index": tf.int64,
    })


def to_features_and_labels(example):
    """Maps a two-digit TFDS example to a `(features, labels)` pair.

    Args:
        example: dict of tensors with `image` (uint8), `left_digit` and
            `right_digit` (int64); other keys are dropped.

    Returns:
        `({"image": uint8 in [0, 255]}, {"left_digit": int32, "right_digit": int32})`: the
        image as stored; the vision trunks rescale it inside the model, so a
        saved model takes the same raw images.

    Example:

    >>> features, labels = to_features_and_labels(
    ...     {"image": tf.fill((12, 20, 1), tf.constant(255, tf.uint8)),
    ...      "left_digit": tf.constant(3, tf.int64), "right_digit": tf.constant(7, tf.int64)})
    >>> features["image"].dtype.name, int(tf.reduce_max(features["image"])), labels["right_digit"].dtype.name
    ('uint8', 255, 'int32')
    """
    return (
        {"image": tf.convert_to_tensor(example["image"], tf.uint8)},
        {
            "left_digit": tf.cast(example["left_digit"], tf.int32),
            "right_digit": tf.cast(example["right_digit"], tf.int32),
        },
    )


def load_tfds_split(name: str, split: str, data_dir=None) -> tf.data.Dataset:
    """Loads a split of a two-digit TFDS data set as unbatched `(features, labels)` pairs.

    Args:
        name: str. TFDS name ("multi_digits" or "multi_mnist").
        split: str. TFDS split, e.g. "train" or "test[:100]".
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default.

    Returns:
        An unbatched `tf.data.Dataset`; see `to_features_and_labels`.

    Example:

    >>> dataset = load_tfds_split("multi_digits", "test", "/tmp/tfds")  # doctest: +SKIP
    """
    dataset = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)
    return dataset.map(to_features_and_labels, num_parallel_calls=tf.data.AUTOTUNE)




def register_two_digit_source(name, description, canvas_shape, splits, how_to_get="") -> DataSource:
    """Registers the TFDS data set `name` as a two-digit `DataSource` and returns it.

    The source has input `image` and labels `left_digit`, `right_digit`; it
    loads splits with `load_tfds_split(name, split, data_dir)` (building the
    TFDS data set on first use).

    Args:
        name: str. Registry and TFDS name.
        description: str. One line for `mtl-zoo list`.
        canvas_shape: (height, width) of the images.
        splits: tuple of str. Split names.
        how_to_get: str. What to do if loading fails. Defaults to "".
    """
    return DATASETS.register(
        name,
        DataSource(
            name=name,
            description=description,
            inputs={"image": InputSpec(
                tuple(canvas_shape) + (1,),
                dtype="uint8",
                value_range=(0, 255),
                description="grayscale image, one channel, raw uint8 pixel values (0 = background)",
            )},
            labels={"left_digit": DIGIT_LABEL, "right_digit": DIGIT_LABEL},
            splits=tuple(splits),
            load=functools.partial(load_tfds_split, name),
            how_to_get=how_to_get,
        ),
    )
