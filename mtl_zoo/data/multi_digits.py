"""MultiDigits: two real handwritten digits side by side, built offline.

Each 12x20 grayscale image holds two 8x8 digits from scikit-learn's
`load_digits` (1797 images of handwritten digits, shipped with scikit-learn),
the left one in the left part and the right one in the right part, with a
random vertical offset and up to two columns of overlap. Tasks: `left_digit`
and `right_digit` (10 classes each).

The source images are split into three disjoint, class-stratified pools
(60/20/20) before composing, so no source digit image appears in two of the
`train` (12,000 examples), `validation` (2,000) and `test` (2,000) splits. The
examples also carry the source indices (`left_index`, `right_index`).

Example:

>>> import tensorflow_datasets as tfds
>>> import mtl_zoo.data
>>> dataset = tfds.load("multi_digits", split="test")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.composition import compose_examples, stratified_pools
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

CANVAS_SHAPE = (12, 20)
ROW_RANGE = (0, 4)
LEFT_COLUMN_RANGE = (0, 3)
RIGHT_COLUMN_RANGE = (9, 12)
LEFT_RANGES = (ROW_RANGE, LEFT_COLUMN_RANGE)
RIGHT_RANGES = (ROW_RANGE, RIGHT_COLUMN_RANGE)
SPLIT_SIZES = {"train": 12000, "validation": 2000, "test": 2000}
POOL_FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
POOL_SEED = 20240
COMPOSE_SEEDS = {"train": 1, "validation": 2, "test": 3}


def source_digits():
    """Returns scikit-learn's handwritten digits, rescaled from 0..16 to 0..255.

    Returns:
        `(images, labels)`: uint8 images of shape (1797, 8, 8) and int64
        labels of shape (1797,).

    Example:

    >>> images, labels = source_digits()
    >>> images.shape, int(images.max()), labels[:5].tolist()
    ((1797, 8, 8), 255, [0, 1, 2, 3, 4])
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def split_pools(labels) -> dict:
    """Splits the source images into disjoint, class-stratified pools, one per split.

    Args:
        labels: 1-D integer array. Class of every source image.

    Returns:
        A dict split name -> sorted index array (60% / 20% / 20%).

    Example:

    >>> pools = split_pools(source_digits()[1])
    >>> {split: len(pool) for split, pool in pools.items()}
    {'train': 1078, 'validation': 360, 'test': 359}
    """
    pools = stratified_pools(labels, list(POOL_FRACTIONS.values()), POOL_SEED)
    return dict(zip(POOL_FRACTIONS, pools))


class MultiDigits(tfds.core.GeneratorBasedBuilder):
    """Two scikit-learn handwritten digits per image; tasks: left and right digit.

    Builds offline (no download manager use): the source digits ship with
    scikit-learn. Features: `image` (uint8, 12x20x1), `left_digit` and
    `right_digit` (ClassLabel 10), `left_index` and `right_index` (the
    source images, into `sklearn.datasets.load_digits().images`).

    Example:

    >>> builder = MultiDigits(data_dir="/tmp/tfds")  # doctest: +SKIP
    >>> builder.download_and_prepare()  # doctest: +SKIP
    >>> builder.info.splits["test"].num_examples  # doctest: +SKIP
    2000
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "12x20 images; train/validation/test from disjoint source pools."}

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__.split("Example:")[0],
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=CANVAS_SHAPE + (1,)),
                "left_digit": tfds.features.ClassLabel(num_classes=10),
                "right_digit": tfds.features.ClassLabel(num_classes=10),
                "left_index": tf.int64,
                "right_index": tf.int64,
            }),
            homepage="https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html",
        )

    def _split_generators(self, dl_manager):
        images, labels = source_digits()
        pools = split_pools(labels)
        return {split: self._generate_examples(images, labels, pools[split], split) for split in SPLIT_SIZES}

    def _generate_examples(self, images, labels, pool, split):
        return compose_examples(
            images, labels, pool, SPLIT_SIZES[split], COMPOSE_SEEDS[split], CANVAS_SHAPE,
            LEFT_RANGES, RIGHT_RANGES,
        )


def to_features_and_labels(example):
    """Maps a two-digit TFDS example to a `(features, labels)` pair.

    Args:
        example: dict of tensors with `image` (uint8), `left_digit` and
            `right_digit` (int64); other keys are dropped.

    Returns:
        `({"image": float32 in [0, 1]}, {"left_digit": int32, "right_digit": int32})`.

    Example:

    >>> features, labels = to_features_and_labels(
    ...     {"image": tf.fill((12, 20, 1), tf.constant(255, tf.uint8)),
    ...      "left_digit": tf.constant(3, tf.int64), "right_digit": tf.constant(7, tf.int64)})
    >>> float(tf.reduce_max(features["image"])), labels["right_digit"].dtype.name
    (1.0, 'int32')
    """
    return (
        {"image": tf.cast(example["image"], tf.float32) / 255.0},
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


def load(split: str, data_dir=None) -> tf.data.Dataset:
    """Loads a MultiDigits split (building it offline on first use).

    Args:
        split: str. "train", "validation" or "test".
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default.

    Returns:
        An unbatched `tf.data.Dataset` of `({"image": float32 (12, 20, 1) in
        [0, 1]}, {"left_digit": int32 scalar, "right_digit": int32 scalar})`.

    Example:

    >>> features, labels = next(iter(load("test", data_dir="/tmp/tfds")))  # doctest: +SKIP
    >>> features["image"].shape  # doctest: +SKIP
    TensorShape([12, 20, 1])
    """
    return load_tfds_split("multi_digits", split, data_dir)


_DIGIT = LabelSpec("classification", classes=10, missing="-1")
DATASETS.register(
    "multi_digits",
    DataSource(
        name="multi_digits",
        description="Two scikit-learn handwritten digits in one 12x20 image (embedded, offline).",
        inputs={"image": InputSpec(CANVAS_SHAPE + (1,))},
        labels={"left_digit": _DIGIT, "right_digit": _DIGIT},
        splits=tuple(SPLIT_SIZES),
        load=load,
    ),
)
