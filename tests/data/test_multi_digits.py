"""MultiDigits: real digits placed where they belong, disjoint pools, TFDS loading offline."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mtl_zoo.data import multi_digits
from mtl_zoo.data.composition import compose_examples, compose_pair, stratified_pools
from mtl_zoo.registry import DATASETS


def test_compose_pair_pastes_both_digits_at_their_offsets():
    rng = np.random.default_rng(0)
    left, right = rng.integers(1, 255, (2, 8, 8)).astype(np.uint8)
    canvas = compose_pair(left, right, (1, 0), (3, 12), (12, 20))
    np.testing.assert_array_equal(canvas[1:9, 0:8], left)
    np.testing.assert_array_equal(canvas[3:11, 12:20], right)
    assert canvas.sum() == int(left.sum()) + int(right.sum())


def test_overlap_keeps_the_brighter_pixel():
    canvas = compose_pair(np.full((2, 3), 5), np.full((2, 3), 9), (0, 0), (0, 2), (2, 5))
    assert canvas.tolist() == [[5, 5, 9, 9, 9], [5, 5, 9, 9, 9]]


def test_compose_pair_refuses_digits_off_the_canvas():
    with pytest.raises(ValueError, match="does not fit a 12x20 canvas"):
        compose_pair(np.ones((8, 8)), np.ones((8, 8)), (0, 0), (5, 13), (12, 20))


def test_pools_are_disjoint_stratified_and_complete():
    images, labels = multi_digits.source_digits()
    pools = multi_digits.split_pools(labels)
    train, validation, test = pools["train"], pools["validation"], pools["test"]
    assert not (set(train) & set(validation)) and not (set(train) & set(test)) and not (set(validation) & set(test))
    assert len(train) + len(validation) + len(test) == len(labels) == 1797
    for pool, share in ((train, 0.6), (test, 0.2)):
        counts = np.bincount(labels[pool], minlength=10)
        np.testing.assert_allclose(counts / np.bincount(labels), share, atol=0.02)


def test_generated_examples_hold_real_source_digits_with_their_labels():
    images, labels = multi_digits.source_digits()
    pool = stratified_pools(labels, [0.5, 0.5], seed=1)[0]
    for _, example in compose_examples(
        images, labels, pool, 50, 7, multi_digits.CANVAS_SHAPE, multi_digits.ROW_RANGE,
        multi_digits.LEFT_COLUMN_RANGE, multi_digits.RIGHT_COLUMN_RANGE,
    ):
        assert example["left_index"] in pool and example["right_index"] in pool
        assert example["left_digit"] == labels[example["left_index"]]
        assert example["right_digit"] == labels[example["right_index"]]
        image = example["image"][..., 0]
        # Columns 0..8 only ever hold the left digit, 12..19 only the right one.
        left_columns = image[:, :9]
        assert left_columns.max() <= images[example["left_index"]].max()
        found = [
            (row, column) for row in range(5) for column in range(4)
            if np.array_equal(image[row:row + 8, column:column + 8][:, : 9 - column],
                              images[example["left_index"]][:, : 9 - column])
        ]
        assert found, "left digit not found at any allowed offset"


def test_tfds_load_builds_offline_with_expected_splits(multi_digits_data_dir):
    builder = tfds.builder("multi_digits", data_dir=str(multi_digits_data_dir))
    sizes = {name: split.num_examples for name, split in builder.info.splits.items()}
    assert sizes == {"train": 12000, "validation": 2000, "test": 2000}
    dataset = tfds.load("multi_digits", split="test", data_dir=str(multi_digits_data_dir))
    examples = list(tfds.as_numpy(dataset.take(64)))
    assert all(e["image"].shape == (12, 20, 1) and e["image"].dtype == np.uint8 for e in examples)
    assert {int(e["left_digit"]) for e in examples} <= set(range(10))


def test_no_source_image_appears_in_two_splits(multi_digits_data_dir):
    used = {}
    for split in ("train", "validation", "test"):
        dataset = tfds.load("multi_digits", split=split, data_dir=str(multi_digits_data_dir))
        indices = set()
        for example in tfds.as_numpy(dataset):
            indices.update((int(example["left_index"]), int(example["right_index"])))
        used[split] = indices
    assert not used["train"] & used["test"]
    assert not used["train"] & used["validation"]
    assert not used["validation"] & used["test"]


def test_registered_source_loads_float_images_and_int_labels(multi_digits_data_dir):
    source = DATASETS.get("multi_digits")
    features, labels = next(iter(source.load_split("validation", data_dir=str(multi_digits_data_dir)).batch(256)))
    assert features["image"].dtype.name == "float32" and features["image"].shape[1:] == (12, 20, 1)
    assert 0.0 <= float(np.min(features["image"])) and float(np.max(features["image"])) == 1.0
    assert set(labels) == {"left_digit", "right_digit"} and labels["left_digit"].dtype.name == "int32"
    with pytest.raises(ValueError, match="has no split 'dev'; available: train, validation, test"):
        source.load_split("dev")
