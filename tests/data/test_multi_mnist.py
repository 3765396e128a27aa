"""MultiMNIST: composed from a (mocked) `tfds.load("mnist")`, never downloaded."""

import numpy as np
import tensorflow_datasets as tfds

from mtl_zoo.data import multi_mnist
from mtl_zoo.registry import DATASETS


def test_examples_compose_two_mnist_digits(tmp_path):
    with tfds.testing.mock_data(num_examples=20):
        images, labels = multi_mnist.mnist_arrays("test")
        builder = multi_mnist.MultiMnist(data_dir=str(tmp_path))
        examples = list(builder._generate_examples("test"))
    assert images.shape == (20, 28, 28) and len(examples) == 20
    for _, example in examples:
        assert example["image"].shape == (36, 36, 1) and example["image"].dtype == np.uint8
        assert example["left_digit"] == labels[example["left_index"]]
        assert example["right_digit"] == labels[example["right_index"]]
        # Each digit is pasted whole; where they overlap the brighter pixel wins.
        assert example["image"].max() >= images[example["left_index"]].max()


def test_registered_source_describes_inputs_and_labels():
    source = DATASETS.get("multi_mnist")
    assert source.inputs["image"].shape == (36, 36, 1)
    assert sorted(source.labels) == ["left_digit", "right_digit"]
