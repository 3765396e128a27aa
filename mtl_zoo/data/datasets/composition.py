"""Compose two digit images into one multi-digit image (pure numpy).

Both MultiDigits (scikit-learn digits) and MultiMNIST use these helpers, so
the placement rule lives in one place: each digit is pasted at its offset on
an empty canvas and overlapping pixels keep the brighter value.

Example:

>>> import numpy as np
>>> canvas = compose_pair(np.ones((2, 2)), 2 * np.ones((2, 2)), (0, 0), (0, 3), (2, 5))
>>> canvas.tolist()
[[1.0, 1.0, 0.0, 2.0, 2.0], [1.0, 1.0, 0.0, 2.0, 2.0]]
"""

from __future__ import annotations

import numpy as np


def compose_pair(left, right, left_offset, right_offset, canvas_shape):
    """Pastes `left` and `right` onto a zero canvas (pixel-wise maximum where they overlap).

    Args:
        left: 2-D array. The first digit image.
        right: 2-D array. The second digit image.
        left_offset: (row, column) of the top-left corner of `left`.
        right_offset: (row, column) of the top-left corner of `right`.
        canvas_shape: (height, width) of the result.

    Returns:
        A 2-D array of shape `canvas_shape` and the dtype of `left`.
    """
    canvas = np.zeros(canvas_shape, dtype=np.result_type(left, right))
    for image, (row, column) in ((left, left_offset), (right, right_offset)):
        height, width = image.shape
        if row < 0 or column < 0 or row + height > canvas_shape[0] or column + width > canvas_shape[1]:
            raise ValueError(
                f"A {height}x{width} digit at offset {(row, column)} does not fit a "
                f"{canvas_shape[0]}x{canvas_shape[1]} canvas. Received: offset={(row, column)}"
            )
        region = canvas[row : row + height, column : column + width]
        np.maximum(region, image, out=region)
    return canvas


def random_offsets(rng, left_ranges, right_ranges):
    """Draws `(left_offset, right_offset)`, each row and column uniform in its inclusive range.

    Args:
        rng: `numpy.random.Generator`.
        left_ranges: `((row_min, row_max), (column_min, column_max))` of the left digit.
        right_ranges: the same for the right digit.
    """
    return tuple(
        tuple(int(rng.integers(low, high + 1)) for low, high in ranges)
        for ranges in (left_ranges, right_ranges)
    )


def stratified_pools(labels, fractions, seed):
    """Splits example indices into disjoint pools with the same class mix.

    Args:
        labels: 1-D integer array. Class of every source image.
        fractions: sequence of float summing to 1. Share of each pool.
        seed: int. Seed of the shuffle.

    Returns:
        A list of sorted index arrays, one per fraction, disjoint and covering
        every index.
    """
    if not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"Pool fractions must sum to 1. Received: fractions={list(fractions)}")
    rng = np.random.default_rng(seed)
    pools = [[] for _ in fractions]
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        bounds = np.round(np.cumsum(fractions) * len(indices)).astype(int)
        for pool, part in zip(pools, np.split(indices, bounds[:-1])):
            pool.extend(part.tolist())
    return [np.sort(np.asarray(pool, dtype=np.int64)) for pool in pools]


def compose_examples(images, labels, pool, num_examples, seed, canvas_shape, left_ranges, right_ranges):
    """Yields `(key, example)` pairs of composed images drawn from one pool.

    Args:
        images: array (N, height, width) of uint8 digit images.
        labels: array (N,) of digit classes.
        pool: 1-D array. Indices of `images` this split may use.
        num_examples: int. Number of examples to yield.
        seed: int. Seed of the draws.
        canvas_shape: (height, width) of the composed image.
        left_ranges: `((row_min, row_max), (column_min, column_max))`,
            inclusive ranges of the left digit's top-left corner.
        right_ranges: the same for the right digit.

    Yields:
        `(key, {"image": uint8 (height, width, 1), "left_digit": int,
        "right_digit": int, "left_index": int, "right_index": int})`.
    """
    rng = np.random.default_rng(seed)
    for key in range(num_examples):
        left_index, right_index = (int(i) for i in rng.choice(pool, size=2))
        left_offset, right_offset = random_offsets(rng, left_ranges, right_ranges)
        canvas = compose_pair(images[left_index], images[right_index], left_offset, right_offset, canvas_shape)
        yield key, {
            "image": canvas[..., None].astype(np.uint8),
            "left_digit": int(labels[left_index]),
            "right_digit": int(labels[right_index]),
            "left_index": left_index,
            "right_index": right_index,
        }
