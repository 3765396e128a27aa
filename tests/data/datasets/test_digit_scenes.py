"""DigitScenes: labels checked by hand against the drawn digits, disjoint splits, loading."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets import digit_scenes
from mtl_zoo.registry import DATASETS

SIZE = 48


def test_compose_scene_labels_a_hand_made_scene():
    images = np.zeros((2, 8, 8), np.uint8)
    images[0, 2:6, 3:5] = 200  # ink rows 2..5, columns 3..4
    images[1, 0, 0] = 90  # a single ink pixel
    scene = digit_scenes.compose_scene(images, [0, 1], [2, 1], [(10, 20, 16), (40, 0, 8)])
    image = scene["image"][..., 0]
    # digit 0 enlarged x2 at (10, 20): ink rows 14..21, columns 26..29
    assert (image[14:22, 26:30] == 200).all() and image.sum() == 200 * 8 * 4 + 90 and image[40, 0] == 90
    assert scene["boxes"] == [(14, 26, 22, 30), (40, 0, 41, 1)]
    assert scene["centres"] == [(18.0, 28.0), (40.5, 0.5)]
    assert (scene["owner"][14:22, 26:30] == 1).all() and scene["owner"][40, 0] == 2
    assert (scene["owner"] > 0).sum() == 33
    distance = digit_scenes.distance_map(scene["centres"])
    # pixel (0, 0): centre (0.5, 0.5); nearest digit centre (18, 28): hypot(17.5, 27.5) = 32.596
    assert distance[0, 0] == pytest.approx(np.hypot(17.5, 27.5) / SIZE, rel=1e-6)
    assert distance[40, 0] == 0.0 and distance[47, 47] == pytest.approx(np.hypot(29.5, 19.5) / SIZE, rel=1e-6)


def read_split(data_dir, split):
    dataset = tfds.load("digit_scenes", split=split, data_dir=str(data_dir), shuffle_files=False)
    return next(iter(tfds.as_numpy(dataset.batch(10000))))


@pytest.fixture(scope="module")
def test_split(digit_scenes_data_dir):
    return read_split(digit_scenes_data_dir, "test")


def test_labels_match_the_drawn_source_digits(test_split):
    images, labels = digit_scenes.source_digits()
    split = test_split
    assert split["image"].shape == (500, SIZE, SIZE, 1) and split["image"].dtype == np.uint8
    counts = np.bincount(split["count"], minlength=5)
    assert counts[0] == 0 and (counts[1:] > 60).all()
    for index in range(25):
        image, count = split["image"][index, ..., 0], int(split["count"][index])
        digits, sources = split["digits"][index], split["source_indices"][index]
        assert (digits[:count] >= 0).all() and (digits[count:] == -1).all() and (sources[count:] == -1).all()
        np.testing.assert_array_equal(digits[:count], labels[sources[:count]])
        segmentation = split["segmentation"][index]
        np.testing.assert_array_equal(segmentation > 0, image > 0)  # every ink pixel labelled, nothing else
        boxes = split["boxes"][index][:count] * SIZE
        sides = []
        for digit, source, box in zip(digits[:count], sources[:count], np.round(boxes).astype(int)):
            top, left, bottom, right = box
            ink = images[source] > 0
            rows, columns = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
            scale = (bottom - top) // (rows[-1] + 1 - rows[0])
            enlarged = np.kron(images[source], np.ones((scale, scale), np.uint8))
            crop = enlarged[rows[0] * scale:(rows[-1] + 1) * scale, columns[0] * scale:(columns[-1] + 1) * scale]
            np.testing.assert_array_equal(image[top:bottom, left:right], crop)  # the source digit, enlarged
            region = segmentation[top:bottom, left:right]
            assert set(np.unique(region[crop > 0])) == {digit + 1}
            sides.append(scale)
        assert sides[0] > max(sides[1:], default=0)  # the first digit is the largest
        np.testing.assert_allclose(split["largest_box"][index], split["boxes"][index][0])
        centres = [((box[0] + box[2]) / 2, (box[1] + box[3]) / 2) for box in boxes]
        grid = np.arange(SIZE) + 0.5
        expected = np.min([np.hypot(grid[:, None] - r, grid[None, :] - c) for r, c in centres], axis=0) / SIZE
        np.testing.assert_allclose(split["distance"][index], expected, atol=1e-5)


def test_splits_use_disjoint_source_digits(digit_scenes_data_dir, test_split):
    pools = digit_scenes.split_pools(digit_scenes.source_digits()[1])
    used = {"test": set(test_split["source_indices"].ravel().tolist()) - {-1}}
    for split in ("train", "validation"):
        used[split] = set(read_split(digit_scenes_data_dir, split)["source_indices"].ravel().tolist()) - {-1}
    for split, indices in used.items():
        assert indices <= set(pools[split].tolist()) and len(indices) > 100
    assert not used["train"] & used["validation"] and not used["train"] & used["test"]
    assert not used["validation"] & used["test"]


def test_registered_source_loads_raw_images_and_four_labels(digit_scenes_data_dir):
    source = DATASETS.get("digit_scenes")
    assert source.inputs["image"].card()["dtype"] == "uint8" and source.inputs["image"].value_range == (0, 255)
    assert {name: (spec.kind, spec.classes) for name, spec in source.labels.items()} == {
        "count": ("classification", 5), "largest_box": ("bbox", 4), "segmentation": ("segmentation", 11),
        "distance": ("dense_regression", 1)}
    dataset = source.load_split("validation", data_dir=str(digit_scenes_data_dir))
    features, labels = dataset.element_spec
    assert features == {"image": tf.TensorSpec((SIZE, SIZE, 1), tf.uint8)}
    assert labels == {
        "count": tf.TensorSpec((), tf.int32), "largest_box": tf.TensorSpec((4,), tf.float32),
        "segmentation": tf.TensorSpec((SIZE, SIZE), tf.int32), "distance": tf.TensorSpec((SIZE, SIZE), tf.float32)}
