"""celeb_a: 40 attribute tasks read through tfds.load('celeb_a'), on TFDS mock data."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets import celeb_a
from mtl_zoo.registry import DATASETS


@pytest.fixture(scope="module")
def mocked():
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        yield


def test_loads_raw_images_and_the_40_attributes_as_float_flags(mocked):
    source = DATASETS.get("celeb_a")
    dataset = source.load_split("validation")
    features, labels = dataset.element_spec
    assert features == {"image": tf.TensorSpec((218, 178, 3), tf.uint8)}
    assert len(labels) == 40 and set(labels) == set(source.labels)
    assert all(spec == tf.TensorSpec((), tf.float32) for spec in labels.values())
    raw = next(iter(tfds.load("celeb_a", split="validation").batch(6)))
    features, labels = next(iter(dataset.batch(6)))
    np.testing.assert_array_equal(features["image"].numpy(), raw["image"].numpy())
    for attribute in ("5_o_Clock_Shadow", "Male", "Wearing_Necktie"):
        expected = raw["attributes"][attribute].numpy().astype("float32")
        np.testing.assert_array_equal(labels[celeb_a.label_name(attribute)].numpy(), expected)


def test_source_states_inputs_labels_and_how_to_get_it():
    source = DATASETS.get("celeb_a")
    assert source.inputs["image"].card()["dtype"] == "uint8" and source.inputs["image"].value_range == (0, 255)
    assert {spec.kind for spec in source.labels.values()} == {"binary"}
    assert "five_o_clock_shadow" in source.labels and "male" in source.labels
    assert "tfds.load('celeb_a')" in source.how_to_get
    grouped = [name for names in celeb_a.ATTRIBUTE_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(source.labels)
