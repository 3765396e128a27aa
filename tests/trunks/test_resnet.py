"""vision_resnet: residual math against numpy, block shapes, option errors, model contract."""

import keras
import numpy as np
import pytest

from mtl_zoo.models.builders import build_model
from mtl_zoo.data.source import InputSpec
from mtl_zoo.errors import OptionError
from mtl_zoo.tasks.task import Task
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.resnet import ResidualStage, vision_resnet

INPUTS = {"image": InputSpec((8, 8, 1), dtype="uint8", value_range=(0, 255))}


def test_blocks_are_stem_then_stages_halving_the_size():
    trunk = vision_resnet(INPUTS, filters=[4, 6, 8], units_per_stage=1)
    assert trunk.num_blocks == 4
    x = keras.Input((8, 8, 1))
    shapes = []
    for index, block in enumerate(trunk.blocks):
        x = block(f"b{index}")(x)
        shapes.append(tuple(x.shape))
    assert shapes == [(None, 8, 8, 4), (None, 8, 8, 4), (None, 4, 4, 6), (None, 2, 2, 8)]


def _conv_same(x, kernel, stride):
    """Numpy 'same' convolution (channels last) for odd kernels, as Keras pads for stride 1 and 2."""
    size = kernel.shape[0]
    height, width = x.shape[1], x.shape[2]
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + size - height, 0)
    pad_w = max((out_w - 1) * stride + size - width, 0)
    padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for i in range(out_h):
        for j in range(out_w):
            patch = padded[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_stage_computes_a_projected_residual_unit_like_numpy():
    stage = ResidualStage(3, num_units=1, strides=2, name="stage")
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(stage(x, training=False))
    weights = {variable.path.split("/")[-2] + "/" + variable.name: variable.numpy() for variable in stage.weights}

    def norm(y, name):  # inference batch normalization
        gamma, beta = weights[f"{name}/gamma"], weights[f"{name}/beta"]
        mean, variance = weights[f"{name}/moving_mean"], weights[f"{name}/moving_variance"]
        return gamma * (y - mean) / np.sqrt(variance + 1e-3) + beta

    y = np.maximum(norm(_conv_same(x, weights["stage_unit_1_conv_1/kernel"], 2), "stage_unit_1_batch_norm_1"), 0)
    y = norm(_conv_same(y, weights["stage_unit_1_conv_2/kernel"], 1), "stage_unit_1_batch_norm_2")
    shortcut = norm(x[:, ::2, ::2, :] @ weights["stage_shortcut_conv/kernel"][0, 0], "stage_shortcut_batch_norm")
    np.testing.assert_allclose(out, np.maximum(y + shortcut, 0), atol=1e-5)
    assert out.shape == (2, 3, 3, 3)


def test_identity_shortcut_has_no_projection_weights():
    stage = ResidualStage(2, num_units=2, name="same")
    stage.build((None, 4, 4, 2))
    assert not any("shortcut" in variable.path for variable in stage.weights)
    assert ResidualStage.from_config(stage.get_config()).get_config() == stage.get_config()


def test_model_contract_with_a_shared_stem(tmp_path):
    trunk = vision_resnet(INPUTS, filters=[4, 4], units_per_stage=1)
    tasks = [Task("digit", "classification", 3), Task("size", "regression")]
    model = build_model(INPUTS, trunk, tasks, sharing="hard", shared_depth=2)
    rng = np.random.default_rng(0)
    features = {"image": rng.integers(0, 256, (32, 8, 8, 1)).astype("uint8")}
    labels = {"digit": rng.integers(0, 3, 32), "size": rng.normal(size=(32, 1)).astype("float32")}
    check_model(model, features, labels, tmp_path)


@pytest.mark.parametrize(
    "options, option",
    [({"filters": []}, "filters"), ({"filters": [0]}, "filters"), ({"units_per_stage": 0}, "units_per_stage"),
     ({"stem_filters": True}, "stem_filters"), ({"resize_to": [4]}, "resize_to")],
)
def test_bad_options_name_the_option(options, option):
    with pytest.raises(OptionError) as error:
        vision_resnet(INPUTS, **options)
    assert error.value.option == option and "Received" in str(error.value)
