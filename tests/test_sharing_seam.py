"""What a sharing scheme can report: extra heads, composed outputs, outputs without a loss,
auxiliary loss terms, and the variable -> tasks map read off the network."""

import keras
import numpy as np
import pytest
from keras import ops

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss
from mtl_zoo.sharing.result import SharingResult
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((6, 6, 1))}
TASKS = [Task("click", "binary"), Task("buy", "binary")]


@keras.saving.register_keras_serializable(package="mtl_zoo_tests")
class MeanSquareLoss(AuxiliaryLoss):
    def compute_term(self, inputs):
        return ops.mean(ops.square(inputs))


def product_scheme(features, trunk, tasks):
    """`click` and an unlabelled `rate` head share the trunk; `buy = click * rate`; `rate_input` exposed."""
    shared = features
    for index, block in enumerate(trunk.blocks):
        shared = block(f"shared_block_{index + 1}")(shared)
    shared = MeanSquareLoss(weight=0.1, name="square_loss")(shared)
    return SharingResult(
        features={"click": shared, "rate": shared},
        extra_heads={"rate": Task("rate", "binary")},
        compose=lambda outputs: {**outputs, "buy": keras.layers.Multiply(name="buy")([outputs["click"], outputs["rate"]])},
        extra_outputs={"rate_input": keras.layers.Identity(name="rate_input")(shared)},
    )


def make_model():
    keras.utils.set_random_seed(2)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_model(INPUTS, trunk, TASKS, sharing=product_scheme)


def data(size=32):
    rng = np.random.default_rng(0)
    features = {"image": rng.random((size, 6, 6, 1), dtype="float32")}
    click = rng.integers(0, 2, size).astype("float32")
    buy = np.where(click == 1, rng.integers(0, 2, size), 0).astype("float32")
    return features, {"click": click, "buy": buy}


def test_composed_and_unlabelled_outputs_are_predicted_and_exported(tmp_path):
    model = make_model()
    assert model.task_names == ["click", "buy"]
    assert sorted(model.extra_output_names) == ["rate", "rate_input"]
    features, labels = data()
    history = check_model(model, features, labels, tmp_path)
    assert "square_loss" in history
    predictions = model.predict(features, verbose=0)
    np.testing.assert_allclose(predictions["buy"], predictions["click"] * predictions["rate"], rtol=1e-6)


def test_auxiliary_term_is_logged_and_part_of_the_objective():
    model = make_model()
    model.compile(optimizer="adam")
    features, labels = data()
    logs = model.evaluate(features, labels, batch_size=32, return_dict=True, verbose=0)
    shared = model.predict(features, verbose=0)["rate_input"]
    assert logs["square_loss"] == pytest.approx(0.1 * float(np.mean(shared**2)), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["click_loss"] + logs["buy_loss"] + logs["square_loss"], rel=1e-5)


def test_variable_task_map_follows_the_graph():
    model = make_model()
    mapping = model.variable_tasks
    assert mapping["shared_block_1/shared_block_1_conv/kernel"] == {"click", "buy"}
    assert mapping["click/kernel"] == {"click", "buy"}  # buy = click * rate
    assert mapping["rate/kernel"] == {"buy"}
    table = model.sharing_summary()
    assert "shared by 2+ tasks" in table and "private to buy" in table


def test_a_scheme_must_produce_every_task():
    def forgetful(features, trunk, tasks):
        return {"click": trunk.blocks[0]("block")(features)}

    trunk = vision_conv(INPUTS, filters=[4], dense_units=[])
    with pytest.raises(ValueError, match=r"produced no output for tasks \['buy'\]"):
        build_model(INPUTS, trunk, TASKS, sharing=forgetful)
