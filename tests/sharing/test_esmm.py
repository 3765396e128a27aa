"""ESMM: the model contract, ctcvr = ctr * cvr, the CVR head trained only through ctcvr, task checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.errors import OptionError
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("click", "binary"), Task("purchase", "binary", head_units=[4])]
# Closed forms for filters=[4], dense_units=[8] on 8x8x1 images:
CONV = 3 * 3 * 1 * 4 + 4
DENSE = 4 * 4 * 4 * 8 + 8
HEADS = (8 + 1) + (8 * 4 + 4 + 4 + 1)  # click head; cvr head with the purchase task's head_units [4]


def make(tasks=TASKS, **options):
    keras.utils.set_random_seed(0)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_model(INPUTS, trunk, tasks, sharing="esmm", **options)


def data(size=32):
    rng = np.random.default_rng(5)
    features = {"image": rng.random((size, 8, 8, 1), dtype="float32")}
    click = rng.integers(0, 2, size).astype("float32")
    purchase = np.where(click == 1, rng.integers(0, 2, size), 0).astype("float32")
    click[::7] = np.nan
    return features, {"click": click, "purchase": purchase}


@pytest.mark.parametrize(
    "shared_depth, parameters", [(0, 2 * (CONV + DENSE) + HEADS), (1, CONV + 2 * DENSE + HEADS)]
)
def test_model_contract(shared_depth, parameters, tmp_path):
    model = make(shared_depth=shared_depth)
    assert model.task_names == ["click", "purchase"] and model.extra_output_names == ["cvr"]
    check_model(model, *data(), tmp_path, expected_parameters=parameters)


def test_ctcvr_is_the_product_of_ctr_and_cvr():
    model = make(shared_depth=1)
    model.compile(optimizer="adam")
    model.fit(*data(), epochs=1, batch_size=8, verbose=0)
    predictions = model.predict(data()[0], verbose=0)
    assert sorted(predictions) == ["click", "cvr", "purchase"]
    np.testing.assert_allclose(predictions["purchase"], predictions["click"] * predictions["cvr"], rtol=1e-6)
    assert np.all((predictions["cvr"] > 0) & (predictions["cvr"] < 1))


def test_the_cvr_head_gets_gradients_only_through_ctcvr():
    model = make(shared_depth=1)
    cvr_weights = [w.path for w in model.trainable_variables if w.path.startswith("cvr")]
    assert len(cvr_weights) == 6  # tower dense block, head hidden layer, head output
    for path in cvr_weights:
        assert model.variable_tasks[path] == {"purchase"}, path
    assert model.variable_tasks["click/kernel"] == {"click", "purchase"}
    assert model.variable_tasks["shared_block_1/shared_block_1_conv/kernel"] == {"click", "purchase"}
    images = tf.random.stateless_uniform((4, 8, 8, 1), seed=(1, 2))
    cvr_kernel = model.network.get_layer("cvr").kernel
    with tf.GradientTape(persistent=True) as tape:
        outputs = model({"image": images})
        click, purchase = tf.reduce_sum(outputs["click"]), tf.reduce_sum(outputs["purchase"])
    assert tape.gradient(click, cvr_kernel) is None
    assert float(tf.reduce_sum(tf.abs(tape.gradient(purchase, cvr_kernel)))) > 0


def test_without_ctcvr_labels_training_leaves_the_cvr_tower_unchanged():
    model = make(shared_depth=1)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    features, labels = data()
    labels["purchase"][:] = np.nan  # no CTCVR label: the CVR tower has nothing to learn from
    before = {w.path: w.numpy() for w in model.trainable_variables}
    model.fit(features, labels, epochs=1, batch_size=8, verbose=0)
    for variable in model.trainable_variables:
        moved = not np.array_equal(variable.numpy(), before[variable.path])
        assert moved == (not variable.path.startswith("cvr")), variable.path


def test_options_name_the_roles():
    model = make(ctr_task="purchase", cvr_output="conversion")
    assert model.extra_output_names == ["conversion"]
    layers = {layer.name for layer in model.network.layers}
    assert {"purchase_block_1", "conversion_block_1", "purchase", "conversion", "click"} <= layers
    assert isinstance(model.network.get_layer("click"), keras.layers.Multiply)


@pytest.mark.parametrize(
    "tasks",
    [
        TASKS + [Task("stay", "binary")],
        TASKS[:1],
        [Task("click", "binary"), Task("digit", "classification", 3)],
        [Task("click", "binary"), Task("spend", "regression")],
    ],
)
def test_other_tasks_than_two_binary_ones_are_refused(tasks):
    with pytest.raises(OptionError, match=r"esmm models exactly two binary tasks.*Received: tasks") as error:
        make(tasks)
    assert error.value.option == "sharing"


@pytest.mark.parametrize(
    "options, option",
    [
        ({"ctr_task": "view"}, "ctr_task"),
        ({"ctcvr_task": "view"}, "ctcvr_task"),
        ({"ctr_task": "click", "ctcvr_task": "click"}, "ctcvr_task"),
        ({"cvr_output": "purchase"}, "cvr_output"),
        ({"cvr_output": "2cvr"}, "cvr_output"),
        ({"shared_depth": 3}, "shared_depth"),
    ],
)
def test_bad_options_name_the_option(options, option):
    with pytest.raises(OptionError) as error:
        make(**options)
    assert error.value.option == option
