"""DigitScenes: several real handwritten digits on a 48x48 canvas, with count, box and per-pixel labels.

Each grayscale 48x48 scene holds 1 to 4 digits from scikit-learn's
`load_digits` (8x8 images), each enlarged by an integer factor (nearest
neighbour: 8, 16 or 24 pixels) and pasted in its own square, squares not
overlapping. One digit is strictly larger than the others. Labels (tasks):

- `count` (classification, 5 classes): the number of digits, 1..4 (class 0
  never occurs).
- `largest_box` (bbox): the box of the largest digit's ink (its non-zero
  pixels), `(y_min, x_min, y_max, x_max)` divided by the canvas size
  (`y_max`, `x_max` are one past the last ink row, column).
- `segmentation` (segmentation, 11 classes): 48x48, 0 for background and
  `d + 1` on the ink pixels of a digit `d`.
- `distance` (dense_regression): 48x48 floats, the distance from each pixel
  centre to the nearest digit centre (the centre of a digit's ink box),
  divided by the canvas size: a depth-like map.

The source images are split into disjoint, class-stratified pools (60/20/20)
before composing, so no source digit image appears in two of the `train`
(3,000 scenes), `validation` (500) and `test` (500) splits. Scenes also carry
`digits` (the digit classes, -1 padded to 4), `source_indices` (into
`load_digits().images`, -1 padded) and `boxes` (every digit's ink box,
normalized, NaN padded), in drawing order. Built offline.

Example:

>>> import tensorflow_datasets as tfds
>>> import mtl_zoo.data
>>> dataset = tfds.load("digit_scenes", split="test")  # doctest: +SKIP
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets.composition import stratified_pools
from mtl_zoo.data.datasets.multi_digits import source_digits
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

CANVAS_SIZE = 48
MAX_DIGITS = 4
NUM_CLASSES = 10
SPLIT_SIZES = {"train": 3000, "validation": 500, "test": 500}
POOL_FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
POOL_SEED = 20242
COMPOSE_SEEDS = {"train": 21, "validation": 22, "test": 23}
MAX_PLACEMENT_TRIES = 100


def split_pools(labels) -> dict:
    """Disjoint, class-stratified pools of source indices, one per split (60% / 20% / 20%).

    Example:

    >>> pools = split_pools(np.arange(100) % 10)
    >>> {split: len(pool) for split, pool in pools.items()}
    {'train': 60, 'validation': 20, 'test': 20}
    """
    return dict(zip(POOL_FRACTIONS, stratified_pools(labels, list(POOL_FRACTIONS.values()), POOL_SEED)))


def ink_box(mask) -> tuple:
    """`(row_min, column_min, row_max, column_max)` of the non-zero pixels of `mask`, max exclusive.

    Example:

    >>> ink_box(np.array([[0, 0, 0], [0, 1, 1], [0, 0, 0]]))
    (1, 1, 2, 3)
    """
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def distance_map(centres, size: int = CANVAS_SIZE):
    """Distance from every pixel centre to the nearest of `centres` ((row, column) pairs), divided by `size`.

    Example:

    >>> distance_map([(1.0, 1.0)], size=2).tolist()
    [[0.3535533845424652, 0.3535533845424652], [0.3535533845424652, 0.3535533845424652]]
    """
    grid = np.arange(size, dtype=np.float64) + 0.5
    rows, columns = np.meshgrid(grid, grid, indexing="ij")
    distances = [np.hypot(rows - row, columns - column) for row, column in centres]
    return (np.min(distances, axis=0) / size).astype(np.float32)


def _draw_layout(rng, num_digits: int):
    """Scales (largest first, strictly largest) and non-overlapping top-left corners, or None."""
    largest = int(rng.integers(2, 4))
    scales = [largest] + [int(rng.integers(1, largest)) for _ in range(num_digits - 1)]
    squares = []
    for scale in scales:
        side = 8 * scale
        for _ in range(MAX_PLACEMENT_TRIES):
            row, column = (int(value) for value in rng.integers(0, CANVAS_SIZE - side + 1, size=2))
            if all(row + side <= r or r + s <= row or column + side <= c or c + s <= column
                   for r, c, s in squares):
                squares.append((row, column, side))
                break
        else:
            return None
    return scales, squares


def compose_scene(images, indices, scales, squares) -> dict:
    """Draws digits `images[indices]` enlarged by `scales` at `squares`; returns the image and its labels.

    Args:
        images: uint8 array (N, 8, 8). Source digits.
        indices: list of int. The source images to draw, largest first.
        scales: list of int. Enlargement factor of each digit.
        squares: list of (row, column, side). Where each digit goes.

    Returns:
        A dict with `image` (uint8 48x48x1), `segmentation` without classes
        (the 1-based digit position on each ink pixel, 0 elsewhere), the ink
        `boxes` in pixels and their `centres`.
    """
    image = np.zeros((CANVAS_SIZE, CANVAS_SIZE), np.uint8)
    owner = np.zeros((CANVAS_SIZE, CANVAS_SIZE), np.int64)
    boxes, centres = [], []
    for position, (index, scale, (row, column, side)) in enumerate(zip(indices, scales, squares), start=1):
        digit = np.kron(images[index], np.ones((scale, scale), np.uint8))
        image[row:row + side, column:column + side] = digit
        owner[row:row + side, column:column + side][digit > 0] = position
        top, left, bottom, right = ink_box(digit > 0)
        boxes.append((row + top, column + left, row + bottom, column + right))
        centres.append(((row + top + row + bottom) / 2.0, (column + left + column + right) / 2.0))
    return {"image": image[..., None], "owner": owner, "boxes": boxes, "centres": centres}


def compose_examples(images, labels, pool, num_examples: int, seed: int):
    """Yields `(key, example)` scenes drawn from the source indices in `pool`.

    Example:

    >>> images, labels = source_digits()
    >>> key, example = next(compose_examples(images, labels, np.arange(100), 1, 0))
    >>> example["image"].shape, example["segmentation"].shape, 1 <= example["count"] <= 4
    ((48, 48, 1), (48, 48), True)
    """
    rng = np.random.default_rng(seed)
    key = 0
    while key < num_examples:
        num_digits = int(rng.integers(1, MAX_DIGITS + 1))
        layout = _draw_layout(rng, num_digits)
        if layout is None:
            continue
        scales, squares = layout
        indices = [int(index) for index in rng.choice(pool, size=num_digits, replace=False)]
        scene = compose_scene(images, indices, scales, squares)
        digit_of_position = np.array([0] + [int(labels[index]) + 1 for index in indices], np.uint8)
        boxes = np.full((MAX_DIGITS, 4), np.nan, np.float32)
        boxes[:num_digits] = np.asarray(scene["boxes"], np.float32) / CANVAS_SIZE
        padding = [-1] * (MAX_DIGITS - num_digits)
        yield key, {
            "image": scene["image"],
            "count": num_digits,
            "largest_box": boxes[0],
            "segmentation": digit_of_position[scene["owner"]],
            "distance": distance_map(scene["centres"]),
            "digits": np.array([int(labels[index]) for index in indices] + padding, np.int64),
            "source_indices": np.array(indices + padding, np.int64),
            "boxes": boxes,
        }
        key += 1


class DigitScenes(tfds.core.GeneratorBasedBuilder):
    """1-4 enlarged scikit-learn digits per 48x48 scene; count, largest box, segmentation and distance labels.

    Builds offline (the source digits ship with scikit-learn).

    Example:

    >>> builder = DigitScenes(data_dir="/tmp/tfds")  # doctest: +SKIP
    >>> builder.download_and_prepare()  # doctest: +SKIP
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "48x48 scenes of 1-4 digits; splits from disjoint source pools."}

    def _info(self) -> tfds.core.DatasetInfo:
        size = (CANVAS_SIZE, CANVAS_SIZE)
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__.split("Example:")[0],
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=size + (1,)),
                "count": tfds.features.ClassLabel(num_classes=MAX_DIGITS + 1),
                "largest_box": tfds.features.Tensor(shape=(4,), dtype=tf.float32),
                "segmentation": tfds.features.Tensor(shape=size, dtype=tf.uint8),
                "distance": tfds.features.Tensor(shape=size, dtype=tf.float32),
                "digits": tfds.features.Tensor(shape=(MAX_DIGITS,), dtype=tf.int64),
                "source_indices": tfds.features.Tensor(shape=(MAX_DIGITS,), dtype=tf.int64),
                "boxes": tfds.features.Tensor(shape=(MAX_DIGITS, 4), dtype=tf.float32),
            }),
            homepage="https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html",
        )

    def _split_generators(self, dl_manager):
        images, labels = source_digits()
        pools = split_pools(labels)
        return {split: self._generate_examples(images, labels, pools[split], split) for split in SPLIT_SIZES}

    def _generate_examples(self, images, labels, pool, split):
        return compose_examples(images, labels, pool, SPLIT_SIZES[split], COMPOSE_SEEDS[split])


def to_features_and_labels(example):
    """Maps a DigitScenes example to `({"image": uint8}, {count, largest_box, segmentation, distance})`.

    Example:

    >>> features, labels = to_features_and_labels({
    ...     "image": tf.zeros((48, 48, 1), tf.uint8), "count": tf.constant(2, tf.int64),
    ...     "largest_box": tf.zeros(4), "segmentation": tf.zeros((48, 48), tf.uint8),
    ...     "distance": tf.zeros((48, 48))})
    >>> labels["segmentation"].dtype.name, labels["count"].dtype.name
    ('int32', 'int32')
    """
    return (
        {"image": example["image"]},
        {
            "count": tf.cast(example["count"], tf.int32),
            "largest_box": tf.cast(example["largest_box"], tf.float32),
            "segmentation": tf.cast(example["segmentation"], tf.int32),
            "distance": tf.cast(example["distance"], tf.float32),
        },
    )


def load_split(split: str, data_dir=None) -> tf.data.Dataset:
    """Loads a DigitScenes split as unbatched `(features, labels)` pairs (building it on first use).

    Example:

    >>> dataset = load_split("test", "/tmp/tfds")  # doctest: +SKIP
    """
    dataset = tfds.load("digit_scenes", split=split, data_dir=data_dir, shuffle_files=False)
    return dataset.map(to_features_and_labels, num_parallel_calls=tf.data.AUTOTUNE)


SOURCE = DATASETS.register(
    "digit_scenes",
    DataSource(
        name="digit_scenes",
        description="1-4 scikit-learn digits on a 48x48 canvas: count, largest box, segmentation, distance "
                    "(embedded, offline).",
        inputs={"image": InputSpec(
            (CANVAS_SIZE, CANVAS_SIZE, 1), dtype="uint8", value_range=(0, 255),
            description="grayscale scene, one channel, raw uint8 pixel values (0 = background)",
        )},
        labels={
            "count": LabelSpec("classification", classes=MAX_DIGITS + 1, missing="-1"),
            "largest_box": LabelSpec("bbox", classes=4),
            "segmentation": LabelSpec("segmentation", classes=NUM_CLASSES + 1, missing="-1"),
            "distance": LabelSpec("dense_regression", classes=1),
        },
        splits=tuple(SPLIT_SIZES),
        load=functools.partial(load_split),
    ),
)
