"""Shared fixtures: the MultiDigits data set is built once per test session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# pytest runs one worker per core (pytest.ini: -n 2): one intra-op TensorFlow thread each, not a pool per worker
# competing for the same cores (less wall time for tests/sharing and tests/balancers on 2 cores).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def op_determinism_stays_as_it_was():
    """`mtl-zoo train` run in this process turns on op determinism for the whole process (as the command line
    should); later tests in the same worker must not inherit it (unseeded shuffles would then refuse to run)."""
    from tensorflow.python.framework import config

    before = config.is_op_determinism_enabled()
    yield
    if config.is_op_determinism_enabled() and not before:
        config.disable_op_determinism()


@pytest.fixture(scope="session")
def multi_digits_data_dir(tmp_path_factory):
    """A TFDS data folder holding a freshly built `multi_digits` (built offline)."""
    import tensorflow_datasets as tfds

    import mtl_zoo.data  # noqa: F401  (registers the builder)

    data_dir = tmp_path_factory.mktemp("tfds")
    tfds.builder("multi_digits", data_dir=str(data_dir)).download_and_prepare()
    return data_dir


@pytest.fixture(scope="session")
def find_placements():
    """A function listing where two digits sit in a composed image.

    `find_placements(image, left, right, left_ranges, right_ranges)` returns
    every `(left_offset, right_offset)` with rows and columns in the inclusive
    `(row_range, column_range)` pairs at which `compose_pair(left, right, ...)`
    reproduces the 2-D `image` exactly (an empty list if none does).
    """
    import numpy as np

    from mtl_zoo.data.datasets.composition import compose_pair

    def candidates(image, digit, ranges):
        (first_row, last_row), (first_column, last_column) = ranges
        height, width = digit.shape
        return [
            (row, column)
            for row in range(first_row, last_row + 1)
            for column in range(first_column, last_column + 1)
            if (image[row : row + height, column : column + width] >= digit).all()
        ]

    def find(image, left, right, left_ranges, right_ranges):
        return [
            (left_offset, right_offset)
            for left_offset in candidates(image, left, left_ranges)
            for right_offset in candidates(image, right, right_ranges)
            if np.array_equal(compose_pair(left, right, left_offset, right_offset, image.shape), image)
        ]

    return find


@pytest.fixture(scope="session")
def digit_scenes_data_dir(tmp_path_factory):
    """A TFDS data folder holding a freshly built `digit_scenes` (built offline, about 5 s)."""
    import tensorflow_datasets as tfds

    import mtl_zoo.data  # noqa: F401  (registers the builder)

    data_dir = tmp_path_factory.mktemp("tfds_scenes")
    tfds.builder("digit_scenes", data_dir=str(data_dir)).download_and_prepare()
    return data_dir
