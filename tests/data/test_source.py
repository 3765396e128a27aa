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
