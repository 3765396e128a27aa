"""MultiMNIST: two overlapping MNIST digits per 36x36 image, built from `tfds.load("mnist")`.

For users who have MNIST in their TFDS data folder. The left digit sits near
the top-left and the right digit near the bottom-right of the canvas (each
shifted by up to 4 pixels), overlapping as in Sabour et al., 2017
(https://arxiv.org/abs/1710.09829). `train` and `validation` are composed from
disjoint parts of MNIST's train split (90% / 10%), `test` from MNIST's test
split; each split has as many examples as its source pool has images.

Example:

>>> import tensorflow_datasets as tfds
>>> import mtl_zoo.data
>>> dataset = tfds.load("multi_mnist", split="test")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.composition import compose_examples
from mtl_zoo.data.multi_digits import load_tfds_split
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

CANVAS_SHAPE = (36, 36)
ROW_RANGE = (0, 8)
LEFT_COLUMN_RANGE = (0, 4)
RIGHT_COLUMN_RANGE = (4, 8)
MNIST_SPLITS = {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}
COMPOSE_SEEDS = {"train": 11, "validation": 12, "test": 13}


def mnist_arrays(split: str, data_dir=None):
    """Returns `(images (N, 28, 28) uint8, labels (N,))` of an MNIST split."""
    dataset = tfds.load("mnist", split=split, data_dir=data_dir, as_supervised=True)
    images, labels = [], []
    for image, label in tfds.as_numpy(dataset):
        images.append(image[..., 0])
        labels.append(label)
    return np.stack(images).astype(np.uint8), np.asarray(labels, dtype=np.int64)


class MultiMnist(tfds.core.GeneratorBasedBuilder):
    """Two overlapping MNIST digits per image; tasks: left and right digit."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "36x36 images; validation held out of MNIST train."}

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
            homepage="https://arxiv.org/abs/1710.09829",
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in MNIST_SPLITS}

    def _generate_examples(self, split, data_dir=None):
        images, labels = mnist_arrays(MNIST_SPLITS[split], data_dir=data_dir or self.data_dir_root)
        return compose_examples(
            images, labels, np.arange(len(labels)), len(labels), COMPOSE_SEEDS[split], CANVAS_SHAPE,
            ROW_RANGE, LEFT_COLUMN_RANGE, RIGHT_COLUMN_RANGE,
        )


def load(split: str, data_dir=None) -> tf.data.Dataset:
    """Loads a MultiMNIST split (needs MNIST in the TFDS data folder on first use).

    Args:
        split: str. "train", "validation" or "test".
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default.

    Returns:
        An unbatched `tf.data.Dataset` of `(features, labels)` dicts.
    """
    return load_tfds_split("multi_mnist", split, data_dir)


_DIGIT = LabelSpec("classification", classes=10, missing="-1")
DATASETS.register(
    "multi_mnist",
    DataSource(
        name="multi_mnist",
        description="Two overlapping MNIST digits in one 36x36 image (needs tfds 'mnist').",
        inputs={"image": InputSpec(CANVAS_SHAPE + (1,))},
        labels={"left_digit": _DIGIT, "right_digit": _DIGIT},
        splits=tuple(MNIST_SPLITS),
        load=load,
    ),
)
