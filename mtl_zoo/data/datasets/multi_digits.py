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
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets.composition import compose_examples, stratified_pools
from mtl_zoo.data.datasets.two_digits import register_two_digit_source, two_digit_features

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
            features=two_digit_features(CANVAS_SHAPE),
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


SOURCE = register_two_digit_source(
    "multi_digits",
    "Two scikit-learn handwritten digits in one 12x20 image (embedded, offline).",
    CANVAS_SHAPE,
    tuple(SPLIT_SIZES),
)
