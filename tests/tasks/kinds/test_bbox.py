"""The bbox kind: IoU of known boxes, per-box masking, Huber loss, a tiny model."""

import keras
import numpy as np
import pytest

from mtl_zoo.tasks.task import build_head
from mtl_zoo.models.multi_task_model import MultiTaskModel
from mtl_zoo.tasks.losses import masked_task_loss_and_count
from mtl_zoo.tasks.metrics import make_task_metrics, update_task_metrics
from mtl_zoo.tasks.task import Task
from mtl_zoo.testing import check_model

TASK = Task("box", "bbox")


def test_iou_of_known_boxes_over_observed_examples():
    labels = np.array([
        [0.0, 0.0, 0.5, 0.5],    # vs [0, 0.25, 0.5, 0.75]: overlap 0.5 x 0.25 = 0.125, union 0.375 -> 1/3
        [0.2, 0.2, 0.6, 0.6],    # identical -> 1
        [0.0, 0.0, 0.2, 0.2],    # disjoint from [0.5, 0.5, 0.9, 0.9] -> 0
        [np.nan] * 4,            # missing: left out even though the prediction is perfect for nothing
    ], "float32")
    predictions = np.array([
        [0.0, 0.25, 0.5, 0.75], [0.2, 0.2, 0.6, 0.6], [0.5, 0.5, 0.9, 0.9], [0.1, 0.1, 0.2, 0.2]], "float32")
    metrics = make_task_metrics(Task("box", "bbox", metrics=["iou", "mae"]))
    update_task_metrics(metrics, TASK, labels, predictions)
    assert float(metrics[0].result()) == pytest.approx((1 / 3 + 1 + 0) / 3, rel=1e-5)
    # mae over the 12 coordinates of the 3 observed boxes: 0.25 + 0.25 (row 1), 0 (row 2),
    # 0.5 + 0.5 + 0.7 + 0.7 (row 3)
    assert float(metrics[1].result()) == pytest.approx((0.5 + 0 + 2.4) / 12, rel=1e-5)


def test_inverted_predicted_box_has_zero_area():
    from mtl_zoo.tasks.kinds.box_metrics import box_iou

    assert float(box_iou(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.6, 0.6, 0.4, 0.4]))) == 0.0


def test_huber_loss_averages_coordinates_of_observed_boxes():
    labels = np.array([[0.0, 0.0, 0.5, 0.5], [np.nan, 0.1, 0.2, 0.3]], "float32")
    predictions = np.array([[0.2, 0.0, 0.5, 0.9], [0.9, 0.9, 0.9, 0.9]], "float32")
    loss, count = masked_task_loss_and_count(TASK, labels, predictions)
    # Huber (delta 1) of errors below 1 is e^2 / 2: (0.04 + 0.16) / 2 over 4 coordinates
    assert float(count) == 4.0
    assert float(loss) == pytest.approx((0.04 + 0.16) / 2 / 4, rel=1e-5)


def test_boxes_outside_the_unit_square_or_inverted_are_invalid():
    split = TASK.kind_spec.split_labels(TASK, np.array([[0.1, 0.1, 1.2, 0.5], [0.5, 0.1, 0.2, 0.3], [0.0, 0.0, 1.0, 1.0]]),
                         np.zeros((3, 4)))
    assert split.mask.numpy()[:, 0].tolist() == [0.0, 0.0, 1.0] and float(split.num_invalid) == 2.0


def test_a_box_head_trains_round_trips_and_exports(tmp_path):
    keras.utils.set_random_seed(0)
    image = keras.Input((6, 6, 1), name="image")
    features = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    network = keras.Model({"image": image}, {"box": build_head(TASK, features)})
    assert tuple(network.output["box"].shape) == (None, 4)
    rng = np.random.default_rng(0)
    corners = np.sort(rng.random((16, 2, 2)), axis=1)
    labels = corners.reshape(16, 4).astype("float32")  # (y_min, x_min) then (y_max, x_max)
    labels[::4] = np.nan
    history = check_model(MultiTaskModel(network, [TASK]), {"image": rng.random((16, 6, 6, 1), "float32")},
                          {"box": labels}, tmp_path, epochs=2)
    assert np.isfinite(history["loss"]).all() and 0.0 <= history["box_iou"][-1] <= 1.0


def test_an_invalid_box_names_the_task_and_the_box_rule():
    from mtl_zoo.errors import InvalidLabelError
    from mtl_zoo.tasks.label_checks import InvalidLabelCounts

    counts = InvalidLabelCounts([TASK])
    counts.update_state([1.0])
    with pytest.raises(InvalidLabelError, match=r"Task box .*y_min <= y_max") as error:
        counts.raise_if_invalid()
    assert "\n" not in str(error.value)
