"""vision_conv: block count, shapes and option errors."""

import keras
import pytest

from mtl_zoo.data.source import InputSpec
from mtl_zoo.errors import OptionError
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((12, 20, 1))}


def test_blocks_are_conv_then_dense_with_expected_shapes():
    trunk = vision_conv(INPUTS, filters=[4, 6], dense_units=[10, 5])
    assert trunk.num_blocks == 4
    x = keras.Input((12, 20, 1))
    shapes = []
    for index, block in enumerate(trunk.blocks):
        x = block(f"b{index}")(x)
        shapes.append(tuple(x.shape))
    assert shapes == [(None, 6, 10, 4), (None, 3, 5, 6), (None, 10), (None, 5)]


def test_factories_return_fresh_layers():
    factory = vision_conv(INPUTS).blocks[0]
    assert factory("a") is not factory("b")


@pytest.mark.parametrize(
    "options, option",
    [({"filters": [], "dense_units": []}, "filters"), ({"filters": [0]}, "filters"), ({"dropout": 1.0}, "dropout"),
     ({"kernel_size": 0}, "kernel_size"), ({"kernel_size": True}, "kernel_size")],
)
def test_bad_options_name_the_option(options, option):
    with pytest.raises(OptionError) as error:
        vision_conv(INPUTS, **options)
    assert error.value.option == option and "Received" in str(error.value)


def test_needs_one_image_input():
    with pytest.raises(ValueError, match="one image input"):
        vision_conv({"a": InputSpec((3,)), "b": InputSpec((4,))})
