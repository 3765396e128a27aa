"""DataSource: split names are checked and loading failures become one-line DataErrors."""

import pytest

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.errors import DataError


def unreachable(split, data_dir=None):
    raise ConnectionError("Max retries exceeded with url: /mnist.gz\nsecond line of detail")


SOURCE = DataSource(
    name="remote_digits",
    description="needs the network",
    inputs={"image": InputSpec((4, 4, 1))},
    labels={"digit": LabelSpec("classification", 10, "-1")},
    splits=("train", "test"),
    load=unreachable,
    how_to_get="Copy it into data.data_dir first.",
)


def test_loading_failure_says_what_where_and_how_to_fix():
    with pytest.raises(DataError) as error:
        SOURCE.load_split("train", data_dir="/data")
    assert str(error.value) == (
        "Data set 'remote_digits' (split 'train') could not be loaded from /data: ConnectionError: "
        "Max retries exceeded with url: /mnist.gz. Copy it into data.data_dir first."
    )


def test_unknown_split_lists_splits():
    with pytest.raises(ValueError, match="has no split 'validation'; available: train, test"):
        SOURCE.load_split("validation")


def load_counting(split, data_dir=None):
    import numpy as np
    import tensorflow as tf

    images = np.arange(10 * 2 * 2, dtype="float32").reshape(10, 2, 2, 1) / 40.0
    return tf.data.Dataset.from_tensor_slices(({"image": images}, {"digit": np.arange(10, dtype="int32")}))


@pytest.fixture(scope="module")
def counting_source():
    from mtl_zoo.registry import DATASETS

    if "tiny_counting_digits" not in DATASETS:
        DATASETS.register("tiny_counting_digits", DataSource(
            name="tiny_counting_digits", description="ten tiny images", inputs={"image": InputSpec((2, 2, 1))},
            labels={"digit": LabelSpec("classification", 10, "-1")}, splits=("train",), load=load_counting,
        ))
    return "tiny_counting_digits"


def test_load_returns_batches_of_features_and_labels_ready_for_fit(counting_source):
    from mtl_zoo.data import load

    batches = list(load(counting_source, "train", batch_size=4))
    assert [int(labels["digit"].shape[0]) for _, labels in batches] == [4, 4, 2]
    features, labels = batches[0]
    assert features["image"].shape == (4, 2, 2, 1) and labels["digit"].numpy().tolist() == [0, 1, 2, 3]
    shuffled = [int(d) for _, labels in load(counting_source, "train", 10, shuffle_buffer=10, seed=1)
                for d in labels["digit"]]
    assert sorted(shuffled) == list(range(10))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_load_refuses_a_batch_size_that_is_not_a_positive_integer(counting_source, batch_size):
    from mtl_zoo.data import load

    with pytest.raises(ValueError, match=rf"batch_size must be a positive integer. Received: batch_size={batch_size!r}"):
        load(counting_source, "train", batch_size=batch_size)


def test_load_names_the_available_data_sets_for_an_unknown_name():
    from mtl_zoo.data import load
    from mtl_zoo.registry import RegistryError

    with pytest.raises(RegistryError, match="Unknown data set 'no_such_set'; available: .*multi_digits"):
        load("no_such_set", "train")
