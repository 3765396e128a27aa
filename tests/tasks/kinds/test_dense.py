"""Per-pixel kinds: mean IoU and pixel accuracy of known masks, abs-rel and RMSE, a decoder round trip."""

import keras
import numpy as np
import pytest

from mtl_zoo.models.builders import build_model
from mtl_zoo.data.source import InputSpec
from mtl_zoo.tasks.losses import masked_task_loss_and_count
from mtl_zoo.tasks.metrics import make_task_metrics, update_task_metrics
from mtl_zoo.tasks.task import Task
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.vision import vision_conv

SEGMENTATION = Task("mask", "segmentation", classes=3)
DEPTH = Task("depth", "dense_regression")


def scores(classes, num_classes=3):
    return np.eye(num_classes, dtype="float32")[np.asarray(classes)]


def test_mean_iou_and_pixel_accuracy_of_known_masks():
    labels = np.array([[[0, 0, 1], [1, 2, -1]]])       # one 2x3 image, one unlabelled pixel
    predicted = np.array([[[0, 1, 1], [1, 1, 0]]])     # the unlabelled pixel's prediction is ignored
    metrics = make_task_metrics(SEGMENTATION)
    update_task_metrics(metrics, SEGMENTATION, labels, scores(predicted))
    # labelled pixels (true, predicted): (0,0) (0,1) (1,1) (1,1) (2,1)
    # class 0: TP 1, FP 0, FN 1 -> 1/2; class 1: TP 2, FP 2, FN 0 -> 2/4; class 2: TP 0, FN 1 -> 0
    assert float(metrics[0].result()) == pytest.approx((0.5 + 0.5 + 0.0) / 3, rel=1e-5)
    assert float(metrics[1].result()) == pytest.approx(3 / 5)


def test_segmentation_loss_counts_labelled_pixels_only():
    labels = np.array([[[0, 2], [-1, -1]]])
    probabilities = np.full((1, 2, 2, 3), 1 / 3, "float32")
    probabilities[0, 0, 0] = [0.5, 0.25, 0.25]
    probabilities[0, 1] = [0.0, 0.0, 1.0]  # unlabelled pixels: a certain wrong class costs nothing
    loss, count = masked_task_loss_and_count(SEGMENTATION, labels, probabilities)
    assert float(count) == 2.0
    assert float(loss) == pytest.approx(-(np.log(0.5) + np.log(1 / 3)) / 2, rel=1e-5)


def test_abs_rel_and_rmse_over_observed_pixels():
    labels = np.array([[[2.0, 4.0], [np.nan, 0.0]]], "float32")
    predictions = np.array([[[3.0, 3.0], [100.0, 1.0]]], "float32")[..., None]
    metrics = make_task_metrics(DEPTH)
    update_task_metrics(metrics, DEPTH, labels, predictions)
    # abs_rel: |3-2|/2 = 0.5, |3-4|/4 = 0.25; the 0 label has no ratio and the NaN pixel is missing
    assert float(metrics[0].result()) == pytest.approx(0.375)
    # rmse over the three observed pixels: errors 1, 1, 1
    assert float(metrics[1].result()) == pytest.approx(1.0)
    loss, count = masked_task_loss_and_count(DEPTH, labels, predictions)
    assert (float(loss), float(count)) == (pytest.approx(1.0), 3.0)


def test_output_size_is_for_per_pixel_kinds_only():
    assert Task("mask", "segmentation", classes=3, output_size=[4, 6]).get_config()["output_size"] == [4, 6]
    with pytest.raises(ValueError, match="output_size"):
        Task("digit", "classification", classes=3, output_size=[4, 6])
    with pytest.raises(ValueError, match="two positive integers"):
        Task("mask", "segmentation", classes=3, output_size=[4])


@pytest.fixture(scope="module")
def conv_model():
    keras.utils.set_random_seed(0)
    inputs = {"image": InputSpec((8, 8, 1))}
    tasks = [SEGMENTATION, DEPTH, Task("count", "classification", classes=2),
             Task("small_mask", "segmentation", classes=2, output_size=[4, 4], head_units=[4])]
    return build_model(inputs, vision_conv(inputs, filters=[4, 4], dense_units=[8]), tasks, shared_depth=1)


def test_the_decoder_reaches_the_image_resolution_through_skips(conv_model):
    outputs = conv_model.network.output
    assert tuple(outputs["mask"].shape) == (None, 8, 8, 3)
    assert tuple(outputs["depth"].shape) == (None, 8, 8, 1)
    assert tuple(outputs["small_mask"].shape) == (None, 4, 4, 2)
    names = [layer.name for layer in conv_model.network.layers]
    # deepest map (the task's own 2x2 block) -> 4x4 skip from the shared block -> 8x8 skip from the image
    assert {"mask_decoder_skip_1", "mask_decoder_skip_2", "mask_decoder_upsample_2"} <= set(names)
    # a per-pixel task taps earlier shared maps, so no shared representation is marked
    assert "shared_representation" not in names


def test_a_tiny_conv_model_trains_round_trips_and_exports(conv_model, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((16, 8, 8, 1), "float32")
    mask = (images[..., 0] > 0.5).astype("int32") + (images[..., 0] > 0.8)
    mask[:, 0] = -1
    depth = images[..., 0] * 2.0
    depth[:, :, 0] = np.nan
    labels = {"mask": mask, "depth": depth, "count": (images.mean(axis=(1, 2, 3)) > 0.5).astype("int32"),
              "small_mask": (images[:, ::2, ::2, 0] > 0.5).astype("int32")}
    history = check_model(conv_model, {"image": images}, labels, tmp_path, epochs=2)
    assert np.isfinite(history["loss"]).all()
    assert 0.0 <= history["mask_mean_iou"][-1] <= 1.0 and np.isfinite(history["depth_abs_rel"][-1])


def test_mtan_feeds_the_decoder_its_attended_maps_and_mmoe_is_refused_by_name():
    from mtl_zoo.models.builders import build_network
    from mtl_zoo.tasks.kinds.base import FeatureMapError

    inputs = {"image": InputSpec((8, 8, 1))}
    trunk = vision_conv(inputs, filters=[4, 4], dense_units=[8])
    tasks = [SEGMENTATION, Task("count", "classification", classes=2)]
    network = build_network(inputs, trunk, tasks, sharing="mtan")
    assert tuple(network.output["mask"].shape) == (None, 8, 8, 3)
    skips = [network.get_layer(f"mask_decoder_skip_{index}").input[1].name for index in (1, 2)]
    assert skips[0] == network.get_layer("mask_attention_1").output.name
    with pytest.raises(FeatureMapError, match="'mmoe'") as error:
        build_network(inputs, trunk, tasks, sharing="mmoe")
    assert "\n" not in str(error.value)


def test_recipe_task_section_takes_output_size():
    from mtl_zoo.recipes.schema import TaskConfig

    config = TaskConfig.model_validate({"name": "mask", "kind": "segmentation", "classes": 3, "output_size": [6, 4]})
    assert config.to_task().output_size == (6, 4)
    with pytest.raises(ValueError, match="output_size"):
        TaskConfig.model_validate({"name": "mask", "kind": "segmentation", "classes": 3, "output_size": [6]})


# Options each reporting scheme needs on a 2-block trunk with tasks (mask, count).
SCHEME_OPTIONS = {"hard": {"shared_depth": 1}, "shared_middle": {"shared_from": 1, "shared_to": 2},
                  "shared_output": {"private_depth": 1, "share_head": False}, "soft": {}, "cross_stitch": {},
                  "mtan": {}, "task_tree": {"groups": [["mask", "count"], [["mask"], ["count"]]]}, "progressive": {}}
# (layer, output index) giving the mask task's own deepest map, the one its decoder upsamples first.
OWN_DEEPEST_MAP = {"hard": ("mask_block_2", 0), "shared_middle": ("shared_block_2", 0),
                   "shared_output": ("shared_block_2", 0), "soft": ("soft_tie_loss", 1),  # column 0, stage 2
                   "cross_stitch": ("cross_stitch_2", 0), "mtan": ("mask_attention_2", 0),
                   "task_tree": ("mask_block_2", 0), "progressive": ("mask_block_2", 0)}


def test_the_schemes_reporting_feature_maps_are_the_ones_that_keep_per_task_paths():
    from mtl_zoo.sharing.result import schemes_reporting_feature_maps

    assert schemes_reporting_feature_maps() == sorted(SCHEME_OPTIONS)


@pytest.mark.parametrize("scheme", sorted(SCHEME_OPTIONS))
def test_every_reporting_scheme_decodes_each_tasks_own_maps(scheme):
    keras.utils.set_random_seed(0)
    inputs = {"image": InputSpec((8, 8, 1))}
    trunk = vision_conv(inputs, filters=[4, 4], dense_units=[])
    tasks = [SEGMENTATION, Task("count", "classification", classes=2)]
    model = build_model(inputs, trunk, tasks, sharing=scheme, **SCHEME_OPTIONS[scheme])
    network = model.network
    assert tuple(network.output["mask"].shape) == (None, 8, 8, 3)
    deepest = network.get_layer("mask_decoder_upsample_1").input  # the 2x2 map the decoder upsamples first
    history = deepest._keras_history
    assert (history.operation.name, history.tensor_index) == OWN_DEEPEST_MAP[scheme]


def test_soft_sharing_returns_every_stage_and_round_trips_with_a_per_pixel_task(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = {"image": InputSpec((8, 8, 1))}
    trunk = vision_conv(inputs, filters=[4, 4], dense_units=[])
    model = build_model(inputs, trunk, [SEGMENTATION, Task("count", "classification", classes=2)], sharing="soft")
    stages = model.network.get_layer("soft_tie_loss").output
    assert [tuple(stage.shape[1:]) for stage in stages] == [(4, 4, 4), (2, 2, 4)] * 2  # (column, block) order
    rng = np.random.default_rng(1)
    images = rng.random((8, 8, 8, 1), "float32")
    labels = {"mask": (images[..., 0] > 0.5).astype("int32") + (images[..., 0] > 0.8),
              "count": (images.mean(axis=(1, 2, 3)) > 0.5).astype("int32")}
    history = check_model(model, {"image": images}, labels, tmp_path, epochs=1)
    assert np.isfinite(history["mask_loss"]).all()
