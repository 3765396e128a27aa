"""MultiMNIST: composed from a (mocked) `tfds.load("mnist")`, never downloaded."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets import multi_mnist
from mtl_zoo.registry import DATASETS

NUM_MOCK_EXAMPLES = 100
LEFT_RANGES = ((0, 4), (0, 4))
RIGHT_RANGES = ((4, 8), (4, 8))


@pytest.fixture(scope="module")
def mocked_build():
    """MNIST arrays and the builder's split examples, all from mocked `tfds.load("mnist")`."""
    with tfds.testing.mock_data(num_examples=NUM_MOCK_EXAMPLES):
        sources = {name: multi_mnist.mnist_arrays(name) for name in ("train", "test")}
        builder = multi_mnist.MultiMnist(data_dir="/nonexistent")
        generators = builder._split_generators(dl_manager=None)
        examples = {split: [example for _, example in generator] for split, generator in generators.items()}
    return sources, examples


def test_mnist_arrays_are_28x28_uint8_digits_with_labels(mocked_build):
    sources, _ = mocked_build
    for images, labels in sources.values():
        assert images.shape == (NUM_MOCK_EXAMPLES, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (NUM_MOCK_EXAMPLES,) and set(labels.tolist()) <= set(range(10))


def test_pools_split_mnist_train_disjointly_and_keep_all_of_test():
    train_labels, test_labels = np.arange(1000) % 10, np.arange(200) % 10
    pools = multi_mnist.split_pools(train_labels, test_labels)
    assert not set(pools["train"].tolist()) & set(pools["validation"].tolist())
    assert len(pools["train"]) + len(pools["validation"]) == 1000 and len(pools["validation"]) == 100
    np.testing.assert_array_equal(np.bincount(train_labels[pools["validation"]]), np.full(10, 10))
    np.testing.assert_array_equal(pools["test"], np.arange(200))


def test_examples_compose_two_mnist_digits_top_left_and_bottom_right(mocked_build, find_placements):
    sources, examples = mocked_build
    pools = multi_mnist.split_pools(sources["train"][1], sources["test"][1])
    assert {split: len(split_examples) for split, split_examples in examples.items()} == {
        split: len(pool) for split, pool in pools.items()
    }
    assert len(pools["train"]) + len(pools["validation"]) == len(pools["test"]) == NUM_MOCK_EXAMPLES
    for split, split_examples in examples.items():
        images, labels = sources[multi_mnist.MNIST_SPLITS[split]]
        for example in split_examples:
            assert example["image"].shape == (36, 36, 1) and example["image"].dtype == np.uint8
            left, right = example["left_index"], example["right_index"]
            assert {left, right} <= set(pools[split].tolist())
            assert (example["left_digit"], example["right_digit"]) == (labels[left], labels[right])
            assert find_placements(example["image"][..., 0], images[left], images[right], LEFT_RANGES, RIGHT_RANGES)


def test_train_and_validation_use_disjoint_source_images(mocked_build):
    _, examples = mocked_build
    used = {
        split: {example[key] for example in examples[split] for key in ("left_index", "right_index")}
        for split in ("train", "validation")
    }
    assert used["train"] and used["validation"] and not used["train"] & used["validation"]


def test_composition_is_deterministic():
    digits = np.random.default_rng(0).integers(0, 256, (10, 28, 28)).astype(np.uint8)
    first = list(multi_mnist.compose_mnist_examples(digits, np.arange(10), np.arange(10), seed=5))
    again = list(multi_mnist.compose_mnist_examples(digits, np.arange(10), np.arange(10), seed=5))
    for (_, example), (_, repeated) in zip(first, again):
        np.testing.assert_array_equal(example["image"], repeated["image"])
        assert example["left_index"] == repeated["left_index"]


def test_registered_source_describes_inputs_and_labels():
    source = DATASETS.get("multi_mnist")
    assert source is multi_mnist.SOURCE and source.splits == ("train", "validation", "test")
    assert source.inputs["image"].card() == {
        "shape": [36, 36, 1], "dtype": "uint8", "value_range": [0, 255],
        "description": source.inputs["image"].description}
    assert {name: (spec.kind, spec.classes, spec.missing) for name, spec in source.labels.items()} == {
        "left_digit": ("classification", 10, "-1"),
        "right_digit": ("classification", 10, "-1"),
    }
    assert "mnist" in source.how_to_get
