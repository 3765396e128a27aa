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
SPLIT_SIZES = {"train": 12000, "validation": 2000, "test": 2000}
POOL_FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
POOL_SEED = 20240
COMPOSE_SEEDS = {"train": 1, "validation": 2, "test": 3}


def source_digits():
    """Returns scikit-learn's digits as `(uint8 images (1797, 8, 8) in 0..255, labels)`."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def split_pools(labels) -> dict:
    """Split name -> disjoint, stratified source index pool."""
    pools = stratified_pools(labels, list(POOL_FRACTIONS.values()), POOL_SEED)
    return dict(zip(POOL_FRACTIONS, pools))


class MultiDigits(tfds.core.GeneratorBasedBuilder):
    """Two scikit-learn handwritten digits per image; tasks: left and right digit."""

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
            ROW_RANGE, LEFT_COLUMN_RANGE, RIGHT_COLUMN_RANGE,
        )


def to_features_and_labels(example):
    """Maps a TFDS example to `({"image": float32 in [0, 1]}, {"left_digit", "right_digit"})`."""
    return (
        {"image": tf.cast(example["image"], tf.float32) / 255.0},
        {
            "left_digit": tf.cast(example["left_digit"], tf.int32),
            "right_digit": tf.cast(example["right_digit"], tf.int32),
        },
    )


def load_tfds_split(name: str, split: str, data_dir=None) -> tf.data.Dataset:
    """Loads a two-digit TFDS split as unbatched `(features, labels)` pairs."""
    dataset = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)
    return dataset.map(to_features_and_labels, num_parallel_calls=tf.data.AUTOTUNE)


def load(split: str, data_dir=None) -> tf.data.Dataset:
    """Loads a MultiDigits split (building it offline on first use).

    Args:
        split: str. "train", "validation" or "test".
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default.

    Returns:
        An unbatched `tf.data.Dataset` of `(features, labels)` dicts.
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
