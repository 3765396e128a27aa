"""Shared fixtures: the MultiDigits data set is built once per test session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def multi_digits_data_dir(tmp_path_factory):
    """A TFDS data folder holding a freshly built `multi_digits` (built offline)."""
    import tensorflow_datasets as tfds

    import mtl_zoo.data  # noqa: F401  (registers the builder)

    data_dir = tmp_path_factory.mktemp("tfds")
    tfds.builder("multi_digits", data_dir=str(data_dir)).download_and_prepare()
    return data_dir
