"""Hard sharing: which blocks are shared, parameter counts in closed form, gradient flow."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_network
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("digit", "classification", 3), Task("value", "regression")]
# Closed form for filters=[4], dense_units=[8] on 8x8x1 images:
CONV = 3 * 3 * 1 * 4 + 4  # one 3x3 conv, 1 -> 4 channels, then 2x2 pooling to 4x4x4
DENSE = (4 * 4 * 4) * 8 + 8
HEADS = (8 * 3 + 3) + (8 * 1 + 1)


def network(shared_depth):
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_network(INPUTS, trunk, TASKS, sharing="hard", shared_depth=shared_depth)


@pytest.mark.parametrize(
    "shared_depth, parameters",
    [
        (0, 2 * (CONV + DENSE) + HEADS),
        (1, CONV + 2 * DENSE + HEADS),
        (2, CONV + DENSE + HEADS),
        (None, CONV + DENSE + HEADS),
    ],
)
def test_parameter_count_matches_closed_form(shared_depth, parameters):
    assert network(shared_depth).count_params() == parameters


def test_layer_names_say_who_owns_them():
    names = {layer.name for layer in network(1).layers}
    assert {"shared_block_1", "digit_block_2", "value_block_2", "digit", "value"} <= names
    assert "shared_block_2" not in names and "digit_block_1" not in names


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_gradients_reach_shared_blocks_from_every_task_and_private_blocks_from_their_own(seed):
    """Each task's real loss moves the shared block and its own block, never another task's."""
    keras.utils.set_random_seed(seed)
    model = network(1)
    images = tf.random.stateless_normal((16, 8, 8, 1), seed=(seed, 2))
    labels = {
        "digit": tf.random.stateless_uniform((16,), seed=(seed, 3), maxval=3, dtype="int32"),
        "value": tf.random.stateless_normal((16, 1), seed=(seed, 4)),
    }
    losses = {
        "digit": lambda outputs: keras.losses.sparse_categorical_crossentropy(labels["digit"], outputs["digit"]),
        "value": lambda outputs: keras.losses.mean_squared_error(labels["value"], outputs["value"]),
    }
    shared = model.get_layer("shared_block_1").trainable_weights[0]
    private = {task: model.get_layer(f"{task}_block_2").trainable_weights[0] for task in losses}
    for task, loss_function in losses.items():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_function(model({"image": images})))
        other = "value" if task == "digit" else "digit"
        shared_gradient, own_gradient, other_gradient = tape.gradient(
            loss, [shared, private[task], private[other]]
        )
        assert float(tf.reduce_sum(tf.abs(shared_gradient))) > 0, task
        assert float(tf.reduce_sum(tf.abs(own_gradient))) > 0, task
        assert other_gradient is None or not np.any(other_gradient.numpy()), task


@pytest.mark.parametrize("shared_depth", [-1, 3, 1.5])
def test_out_of_range_depth_names_the_range(shared_depth):
    with pytest.raises(ValueError, match=r"between 0 and 2 \(the trunk has 2 blocks\)"):
        network(shared_depth)
