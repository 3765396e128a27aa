"""keras.applications trunks: stage counts and shapes, stages that chain to the whole application,
ImageNet weights from the Keras cache, and the model contract on the smallest inputs."""

import h5py
import keras
import numpy as np
import pytest

from mtl_zoo.models.builders import build_model
from mtl_zoo.data.source import InputSpec
from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.tasks.task import Task
from mtl_zoo.trunks.applications import APPLICATIONS

RGB = {"image": InputSpec((32, 32, 3), dtype="uint8", value_range=(0, 255))}
GRAY = {"image": InputSpec((16, 16, 1), dtype="uint8", value_range=(0, 255))}
TASKS = [Task("kind", "classification", 3), Task("size", "regression")]
# trunk -> (blocks, spatial size of each block's output on 32x32 inputs)
STAGES = {
    "mobilenet_v3_small": (4, [8, 4, 2, 1]),
    "efficientnet_b0": (5, [16, 8, 4, 2, 1]),
    "resnet50": (4, [8, 4, 2, 1]),
}


def chain(trunk, x):
    for index, block in enumerate(trunk.blocks):
        x = block(f"stage_{index + 1}")(x)
    return x


def stage_shapes(trunk, x):
    shapes = []
    for index, block in enumerate(trunk.blocks):
        layer = block(f"b{index}")
        assert isinstance(layer, keras.Model) and layer is not block(f"c{index}")
        x = layer(x)
        shapes.append(tuple(x.shape[1:3]))
    return shapes, x


def test_resnet50_blocks_are_its_four_stages():
    trunk = TRUNKS.get("resnet50")(RGB)
    assert trunk.num_blocks == 4 == len(APPLICATIONS["resnet50"].stage_ends)
    shapes, x = stage_shapes(trunk, keras.Input((32, 32, 3)))
    assert shapes == [(size, size) for size in STAGES["resnet50"][1]] and x.shape[-1] == 2048


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0"])
def test_stages_chain_to_the_whole_application_and_round_trip(name, tmp_path):
    trunk = TRUNKS.get(name)(RGB)
    num_blocks, sizes = STAGES[name]
    assert trunk.num_blocks == num_blocks == len(APPLICATIONS[name].stage_ends)
    shapes, _ = stage_shapes(trunk, keras.Input((32, 32, 3)))
    assert shapes == [(size, size) for size in sizes]
    template = trunk.blocks[0].cutter.template
    pixels = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    inputs = keras.Input((32, 32, 3))
    chained = keras.Model(inputs, chain(trunk, inputs))
    expected = keras.ops.convert_to_numpy(template(pixels, training=False))
    out = keras.ops.convert_to_numpy(chained(pixels, training=False))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    chained.save(tmp_path / "chained.keras")
    reloaded = keras.models.load_model(tmp_path / "chained.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(pixels, training=False)), out)
    # task copies of a stage are independent layers with prefixed, unique variable paths
    first, second = trunk.blocks[1]("a_block_2"), trunk.blocks[1]("b_block_2")
    assert not {v.path for v in first.weights} & {v.path for v in second.weights}
    assert all(v.path.startswith("a_block_2") for v in first.weights)


def test_hard_sharing_with_shared_depth_in_the_middle_round_trips(tmp_path):
    trunk = TRUNKS.get("mobilenet_v3_small")(GRAY, resize_to=[32, 32])
    model = build_model(GRAY, trunk, TASKS, sharing="hard", shared_depth=2)
    assert [layer.name for layer in model.network.layers if isinstance(layer, keras.Model)] == [
        "shared_block_1", "shared_block_2", "kind_block_3", "size_block_3", "kind_block_4", "size_block_4"]
    images = {"image": np.random.default_rng(1).integers(0, 256, (2, 16, 16, 1)).astype("uint8")}
    expected = model(images, training=False)
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")(images, training=False)
    for task in ("kind", "size"):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(again[task]), keras.ops.convert_to_numpy(expected[task]))


def test_resnet50_stem_is_caffe_preprocessing():
    trunk = TRUNKS.get("resnet50")(RGB)
    pixel = np.zeros((1, 32, 32, 3), "uint8")
    pixel[..., :] = [200, 100, 50]  # RGB
    out = keras.ops.convert_to_numpy(trunk.stem({"image": keras.ops.convert_to_tensor(pixel)}))[0, 0, 0]
    np.testing.assert_allclose(out, [50 - 103.939, 100 - 116.779, 200 - 123.68], atol=1e-4)


def test_imagenet_weights_missing_from_the_cache_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("mtl_zoo.trunks.applications.FALLBACK_CACHE", str(tmp_path / "none"))
    with pytest.raises(OptionError) as error:
        TRUNKS.get("efficientnet_b0")(RGB, weights="imagenet")
    message = str(error.value)
    assert error.value.option == "weights" and "\n" not in message
    assert "efficientnetb0_notop.h5" in message and str(tmp_path / "models") in message and "Received" in message


def test_imagenet_weights_are_read_from_the_cache_into_every_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    reference = keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), include_top=False, weights=None, include_preprocessing=False)
    (tmp_path / "models").mkdir()
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    with h5py.File(tmp_path / "models" / APPLICATIONS["mobilenet_v3_small"].weights_file, "w") as file:
        save_weights_to_hdf5_group(file, reference)
    trunk = TRUNKS.get("mobilenet_v3_small")(GRAY, weights="imagenet", resize_to=[32, 32])
    inputs = {"image": keras.Input((16, 16, 1), dtype="uint8", name="image")}
    model = keras.Model(inputs, chain(trunk, trunk.stem(inputs)))
    images = np.random.default_rng(2).integers(0, 256, (2, 16, 16, 1)).astype("uint8")
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(images.astype("float32") / 127.5 - 1.0, (32, 32)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model({"image": images}, training=False)),
                               keras.ops.convert_to_numpy(reference(np.repeat(resized, 3, axis=-1), training=False)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "inputs, options, option",
    [(GRAY, {}, "resize_to"), (RGB, {"weights": "places365"}, "weights"), (RGB, {"resize_to": [31, 64]}, "resize_to")],
)
def test_bad_options_name_the_option(inputs, options, option):
    with pytest.raises(OptionError) as error:
        TRUNKS.get("mobilenet_v3_small")(inputs, **options)
    assert error.value.option == option and "Received" in str(error.value)
