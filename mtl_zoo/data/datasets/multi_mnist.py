"""MultiMNIST: two overlapping MNIST digits per 36x36 image, built from `tfds.load("mnist")`.

For users who have MNIST in their TFDS data folder. The left digit sits in the
top-left and the right digit in the bottom-right of the canvas (each corner
offset drawn uniformly in 0..4 pixels from its corner), so the two digits
overlap, as in Sener & Koltun, 2018 (https://arxiv.org/abs/1810.04650), after
Sabour et al., 2017 (https://arxiv.org/abs/1710.09829). `train` and
`validation` are composed from disjoint, class-stratified pools of MNIST's
train split (90% / 10%), `test` from MNIST's test split; each split has as
many examples as its source pool has images (54,000 / 6,000 / 10,000). The
examples also carry the source indices (`left_index`, `right_index`) into the
MNIST split they come from.

Example:

>>> import tensorflow_datasets as tfds
>>> import mtl_zoo.data
>>> dataset = tfds.load("multi_mnist", split="test")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets.composition import compose_examples, stratified_pools
from mtl_zoo.data.datasets.two_digits import register_two_digit_source, two_digit_features

CANVAS_SHAPE = (36, 36)
DIGIT_SIZE = 28
MAX_SHIFT = 4
_FAR_CORNER = CANVAS_SHAPE[0] - DIGIT_SIZE - MAX_SHIFT
LEFT_RANGES = ((0, MAX_SHIFT), (0, MAX_SHIFT))
RIGHT_RANGES = ((_FAR_CORNER, _FAR_CORNER + MAX_SHIFT), (_FAR_CORNER, _FAR_CORNER + MAX_SHIFT))
MNIST_SPLITS = {"train": "train", "validation": "train", "test": "test"}
POOL_FRACTIONS = (0.9, 0.1)
POOL_SEED = 20241
COMPOSE_SEEDS = {"train": 11, "validation": 12, "test": 13}


def mnist_arrays(split: str, data_dir=None):
    """Reads an MNIST split into numpy arrays.

    Args:
        split: str. MNIST split ("train" or "test").
        data_dir: str or None. TFDS data folder holding `mnist`. Defaults to
            TFDS's default.

    Returns:
        `(images, labels)`: uint8 images (N, 28, 28) and int64 labels (N,).

    Example:

    >>> images, labels = mnist_arrays("test")  # doctest: +SKIP
    >>> images.shape  # doctest: +SKIP
    (10000, 28, 28)
    """
    dataset = tfds.load("mnist", split=split, data_dir=data_dir, as_supervised=True, shuffle_files=False)
    batches = list(tfds.as_numpy(dataset.batch(8192)))
    images = np.concatenate([images for images, _ in batches])[..., 0]
    labels = np.concatenate([labels for _, labels in batches])
    return images.astype(np.uint8), labels.astype(np.int64)


def split_pools(train_labels, test_labels) -> dict:
    """Source index pools: disjoint stratified train/validation parts of MNIST train, all of test.

    Args:
        train_labels: 1-D integer array. Labels of MNIST's train split.
        test_labels: 1-D integer array. Labels of MNIST's test split.

    Returns:
        A dict split name -> sorted index array into the split's MNIST source.

    Example:

    >>> pools = split_pools(np.arange(100) % 10, np.arange(30) % 10)
    >>> {split: len(pool) for split, pool in pools.items()}
    {'train': 90, 'validation': 10, 'test': 30}
    """
    train_pool, validation_pool = stratified_pools(train_labels, POOL_FRACTIONS, POOL_SEED)
    return {"train": train_pool, "validation": validation_pool, "test": np.arange(len(test_labels))}


def compose_mnist_examples(images, labels, pool, seed):
    """Yields `(key, example)` pairs, one per pool image: left digit top-left, right bottom-right.

    Args:
        images: uint8 array (N, 28, 28). MNIST digits.
        labels: integer array (N,). Their classes.
        pool: 1-D array. Indices of `images` this split may use.
        seed: int. Seed of the draws.

    Yields:
        See `mtl_zoo.data.datasets.composition.compose_examples`.

    Example:

    >>> digits = np.full((2, 28, 28), 200, np.uint8)
    >>> key, example = next(compose_mnist_examples(digits, np.array([4, 7]), np.arange(2), 0))
    >>> image = example["image"][..., 0]
    >>> int(image[8:28, 8:28].min()), int(image[0, 35]), int(image[35, 0]), example["left_digit"] in (4, 7)
    (200, 0, 0, True)
    """
    return compose_examples(images, labels, pool, len(pool), seed, CANVAS_SHAPE, LEFT_RANGES, RIGHT_RANGES)


class MultiMnist(tfds.core.GeneratorBasedBuilder):
    """Two overlapping MNIST digits per image; tasks: left and right digit.

    Reads `mnist` from the same TFDS data folder (downloading it only if TFDS
    is allowed to). Features: `image` (uint8, 36x36x1), `left_digit` and
    `right_digit` (ClassLabel 10), `left_index` and `right_index`.

    Example:

    >>> builder = MultiMnist(data_dir="/tmp/tfds")  # doctest: +SKIP
    >>> builder.download_and_prepare()  # doctest: +SKIP
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "36x36 images; validation held out of MNIST train."}

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__.split("Example:")[0],
            features=two_digit_features(CANVAS_SHAPE),
            homepage="https://arxiv.org/abs/1810.04650",
        )

    def _split_generators(self, dl_manager):
        sources = {name: mnist_arrays(name, data_dir=self.data_dir_root) for name in ("train", "test")}
        pools = split_pools(sources["train"][1], sources["test"][1])
        return {
            split: self._generate_examples(*sources[MNIST_SPLITS[split]], pools[split], split)
            for split in MNIST_SPLITS
        }

    def _generate_examples(self, images, labels, pool, split):
        return compose_mnist_examples(images, labels, pool, COMPOSE_SEEDS[split])


SOURCE = register_two_digit_source(
    "multi_mnist",
    "Two overlapping MNIST digits in one 36x36 image (needs tfds 'mnist').",
    CANVAS_SHAPE,
    tuple(MNIST_SPLITS),
    how_to_get=(
        "MultiMNIST is built from TFDS 'mnist': run tfds.load('mnist') once on a machine with "
        "internet and copy its folder into the TFDS data folder (data.data_dir)."
    ),
)
