"""vision_conv: block count, shapes and option errors."""

import keras
import numpy as np
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


RAW = {"image": InputSpec((4, 6, 1), dtype="uint8", value_range=(0, 255))}


def test_stem_rescales_raw_pixels_and_resizes_inside_the_model(tmp_path):
    from mtl_zoo.models.builders import build_inputs

    trunk = vision_conv(RAW, filters=[2], dense_units=[3], resize_to=[8, 12])
    inputs = build_inputs(RAW)
    model = keras.Model(inputs, trunk.stem(inputs))
    pixels = np.array([0, 51, 255], "uint8").reshape(1, 1, 3, 1).repeat(4, axis=1).repeat(2, axis=2)
    out = model.predict({"image": pixels}, verbose=0)
    assert out.shape == (1, 8, 12, 1) and out.dtype == np.float32
    # bilinear resizing of columns that are constant in pairs keeps the plateaus: 0, 0.2, 1.0
    np.testing.assert_allclose(out[0, :, [0, 5, 11], 0].T[0], [0.0, 0.2, 1.0], atol=1e-6)
    path = tmp_path / "stem.keras"
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path).predict({"image": pixels}, verbose=0), out)


def test_float_inputs_pass_unscaled():
    trunk = vision_conv(INPUTS, filters=[2], dense_units=[3])
    x = keras.Input((12, 20, 1))
    assert trunk.stem({"image": x}) is x


@pytest.mark.parametrize("resize_to", [[8], [0, 4], "8x8", [True, 3]])
def test_bad_resize_to_names_the_option(resize_to):
    with pytest.raises(OptionError, match="resize_to") as error:
        vision_conv(RAW, resize_to=resize_to)
    assert error.value.option == "resize_to"
