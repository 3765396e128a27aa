"""MultiDigits: real digits placed where they belong, disjoint pools, TFDS loading offline."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from mtl_zoo.data.datasets import multi_digits
from mtl_zoo.data.datasets.composition import compose_pair
from mtl_zoo.registry import DATASETS

SPLITS = ("train", "validation", "test")
LEFT_RANGES = (multi_digits.ROW_RANGE, multi_digits.LEFT_COLUMN_RANGE)
RIGHT_RANGES = (multi_digits.ROW_RANGE, multi_digits.RIGHT_COLUMN_RANGE)


@pytest.fixture(scope="module")
def sklearn_digits():
    """scikit-learn's digits as read from scikit-learn, rescaled 0..16 -> 0..255."""
    digits = load_digits()
    return np.round(digits.images * 255.0 / 16.0).astype(np.uint8), digits.target


def test_source_digits_are_sklearn_digits_rescaled(sklearn_digits):
    images, labels = multi_digits.source_digits()
    np.testing.assert_array_equal(images, sklearn_digits[0])
    np.testing.assert_array_equal(labels, sklearn_digits[1])
    assert images.dtype == np.uint8 and images.min() == 0 and images.max() == 255
    assert len({image.tobytes() for image in images}) == 1797  # indices identify images


def test_compose_pair_places_real_digits_in_their_regions(sklearn_digits):
    images, _ = sklearn_digits
    canvas = compose_pair(images[0], images[1], (2, 1), (4, 12), multi_digits.CANVAS_SHAPE)
    assert canvas.shape == (12, 20) and canvas.dtype == np.uint8
    np.testing.assert_array_equal(canvas[2:10, 1:9], images[0])
    np.testing.assert_array_equal(canvas[4:12, 12:20], images[1])
    background = np.ones(canvas.shape, bool)
    background[2:10, 1:9] = background[4:12, 12:20] = False
    assert not canvas[background].any()


def test_overlap_keeps_the_brighter_pixel():
    canvas = compose_pair(np.full((2, 3), 5), np.full((2, 3), 9), (0, 0), (0, 2), (2, 5))
    assert canvas.tolist() == [[5, 5, 9, 9, 9], [5, 5, 9, 9, 9]]


def test_compose_pair_refuses_digits_off_the_canvas():
    with pytest.raises(ValueError, match=r"does not fit a 12x20 canvas. Received: offset=\(5, 13\)"):
        compose_pair(np.ones((8, 8)), np.ones((8, 8)), (0, 0), (5, 13), (12, 20))


def test_offsets_keep_digits_on_their_side_with_little_overlap():
    last_left_column = multi_digits.LEFT_COLUMN_RANGE[1] + 8 - 1
    first_right_column = multi_digits.RIGHT_COLUMN_RANGE[0]
    assert 0 < last_left_column - first_right_column + 1 <= 2
    assert multi_digits.RIGHT_COLUMN_RANGE[1] + 8 == multi_digits.CANVAS_SHAPE[1]
    assert multi_digits.ROW_RANGE[1] + 8 == multi_digits.CANVAS_SHAPE[0]


def test_pools_are_disjoint_stratified_and_complete():
    _, labels = multi_digits.source_digits()
    pools = multi_digits.split_pools(labels)
    train, validation, test = (set(pools[split].tolist()) for split in SPLITS)
    assert not train & validation and not train & test and not validation & test
    assert train | validation | test == set(range(1797))
    for split, share in (("train", 0.6), ("validation", 0.2), ("test", 0.2)):
        counts = np.bincount(labels[pools[split]], minlength=10)
        np.testing.assert_allclose(counts / np.bincount(labels), share, atol=0.01)


def test_split_generators_need_no_download_manager_and_are_deterministic(sklearn_digits, find_placements):
    images, labels = sklearn_digits
    builder = multi_digits.MultiDigits(data_dir="/nonexistent")
    generators = builder._split_generators(dl_manager=None)
    assert sorted(generators) == sorted(SPLITS)
    first = [example for _, (_, example) in zip(range(100), generators["validation"])]
    again = [example for _, (_, example) in zip(range(100), builder._split_generators(None)["validation"])]
    pool = set(multi_digits.split_pools(labels)["validation"].tolist())
    for example, repeated in zip(first, again):
        np.testing.assert_array_equal(example["image"], repeated["image"])
        assert example["image"].shape == (12, 20, 1) and example["image"].dtype == np.uint8
        left, right = example["left_index"], example["right_index"]
        assert {left, right} <= pool
        assert (example["left_digit"], example["right_digit"]) == (labels[left], labels[right])
        assert find_placements(example["image"][..., 0], images[left], images[right], LEFT_RANGES, RIGHT_RANGES)


def read_split(data_dir, split):
    """All examples of a built split as numpy arrays keyed by feature."""
    dataset = tfds.load("multi_digits", split=split, data_dir=str(data_dir), batch_size=-1)
    return tfds.as_numpy(dataset)


def test_tfds_load_builds_offline_with_expected_splits(multi_digits_data_dir):
    builder = tfds.builder("multi_digits", data_dir=str(multi_digits_data_dir))
    sizes = {name: split.num_examples for name, split in builder.info.splits.items()}
    assert sizes == {"train": 12000, "validation": 2000, "test": 2000}
    for split in SPLITS:
        examples = read_split(multi_digits_data_dir, split)
        assert examples["image"].shape == (sizes[split], 12, 20, 1) and examples["image"].dtype == np.uint8
        for label in ("left_digit", "right_digit"):
            assert set(examples[label].tolist()) == set(range(10))


def test_no_source_image_appears_in_two_splits(multi_digits_data_dir, sklearn_digits, find_placements):
    images, labels = sklearn_digits
    pools = multi_digits.split_pools(labels)
    used = {}
    for split in SPLITS:
        examples = read_split(multi_digits_data_dir, split)
        used[split] = set(examples["left_index"].tolist()) | set(examples["right_index"].tolist())
        assert used[split] <= set(pools[split].tolist())
        np.testing.assert_array_equal(examples["left_digit"], labels[examples["left_index"]])
        np.testing.assert_array_equal(examples["right_digit"], labels[examples["right_index"]])
        for image, left, right in list(zip(examples["image"], examples["left_index"], examples["right_index"]))[:100]:
            assert find_placements(image[..., 0], images[left], images[right], LEFT_RANGES, RIGHT_RANGES)
    assert not used["train"] & used["validation"]
    assert not used["train"] & used["test"]
    assert not used["validation"] & used["test"]


def test_load_gives_raw_uint8_images_and_int32_scalar_labels(multi_digits_data_dir):
    dataset = multi_digits.SOURCE.load_split("test", data_dir=str(multi_digits_data_dir))
    features_spec, labels_spec = dataset.element_spec
    assert features_spec == {"image": tf.TensorSpec((12, 20, 1), tf.uint8)}
    assert labels_spec == {"left_digit": tf.TensorSpec((), tf.int32), "right_digit": tf.TensorSpec((), tf.int32)}
    features, labels = next(iter(dataset.batch(2000)))
    assert int(tf.reduce_min(features["image"])) == 0 and int(tf.reduce_max(features["image"])) == 255
    expected = read_split(multi_digits_data_dir, "test")
    np.testing.assert_array_equal(features["image"].numpy(), expected["image"])
    np.testing.assert_array_equal(labels["left_digit"].numpy(), expected["left_digit"])


def test_registered_source_describes_and_loads_the_data(multi_digits_data_dir):
    source = DATASETS.get("multi_digits")
    assert source is multi_digits.SOURCE and source.splits == SPLITS
    assert source.inputs["image"].card() == {
        "shape": [12, 20, 1], "dtype": "uint8", "value_range": [0, 255],
        "description": source.inputs["image"].description}
    assert {name: (spec.kind, spec.classes, spec.missing) for name, spec in source.labels.items()} == {
        "left_digit": ("classification", 10, "-1"),
        "right_digit": ("classification", 10, "-1"),
    }
    features, _ = next(iter(source.load_split("validation", data_dir=str(multi_digits_data_dir)).batch(4)))
    assert features["image"].shape == (4, 12, 20, 1)
    with pytest.raises(ValueError, match="has no split 'dev'; available: train, validation, test"):
        source.load_split("dev")
