"""Feature alignment: the term against numpy, logged and in the objective, gradients, save/load, option checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.errors import OptionError
from mtl_zoo.sharing.alignment import FeatureAlignmentLoss, align_features, apply_feature_alignment
from mtl_zoo.sharing.hard import hard_sharing
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("digit", "classification", 3), Task("value", "regression")]


def numpy_term(source, target, projection=None):
    source, target = source.reshape(len(source), -1), target.reshape(len(target), -1)
    if projection is not None:
        target = target @ projection
    return float(np.mean(np.sum((source.astype("float64") - target) ** 2, axis=-1)))


@pytest.mark.parametrize("source_shape, target_shape", [((5, 6), (5, 6)), ((5, 6), (5, 2, 2, 3)), ((5, 3), (5, 7))])
def test_term_matches_numpy(source_shape, target_shape):
    rng = np.random.default_rng(0)
    source = rng.normal(size=source_shape).astype("float32")
    target = rng.normal(size=target_shape).astype("float32")
    layer = FeatureAlignmentLoss(weight=0.3, name="a_b_alignment_loss")
    outputs = layer([source, target])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(outputs[0]), source)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(outputs[1]), target)
    widths = (np.prod(source_shape[1:]), np.prod(target_shape[1:]))
    projection = None
    if widths[0] != widths[1]:
        projection = layer.projection.numpy()
        assert projection.shape == (widths[1], widths[0])
    else:
        assert layer.projection is None
    expected = 0.3 * numpy_term(source, target, projection)
    assert float(layer.losses[0]) == pytest.approx(expected, rel=1e-5)


def aligned_scheme(features, trunk, tasks, weight=0.2):
    """`digit` reads the dense block (8 units), `value` the conv block (4x4x4 = 64): widths differ."""
    shared = trunk.blocks[0]("shared_block_1")(features)
    result = {"digit": trunk.blocks[1]("digit_block_2")(shared), "value": shared}
    return align_features(result, [("digit", "value")], weight)


def make(scheme=aligned_scheme):
    keras.utils.set_random_seed(0)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_model(INPUTS, trunk, TASKS, sharing=scheme)


def data(size=32):
    rng = np.random.default_rng(2)
    features = {"image": rng.random((size, 8, 8, 1), dtype="float32")}
    return features, {"digit": rng.integers(0, 3, size), "value": rng.normal(size=(size, 1)).astype("float32")}


def test_term_is_logged_and_added_to_the_objective():
    model = make()
    model.compile(optimizer="adam")
    features, labels = data()
    logs = model.evaluate(features, labels, batch_size=32, return_dict=True, verbose=0)
    net = model.network
    probe = keras.Model(net.input, [net.get_layer("digit_block_2").output, net.get_layer("shared_block_1").output])
    source, target = probe.predict(features, verbose=0)
    projection = net.get_layer("digit_value_alignment_loss").projection.numpy()
    assert projection.shape == (64, 8)
    assert logs["digit_value_alignment_loss"] == pytest.approx(0.2 * numpy_term(source, target, projection), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["digit_loss"] + logs["value_loss"] + logs["digit_value_alignment_loss"], rel=1e-5)


def test_the_term_moves_both_features_and_the_projection():
    model = make()
    net = model.network
    variables = {
        "source": net.get_layer("digit_block_2").trainable_weights[0],
        "target": net.get_layer("shared_block_1").trainable_weights[0],
        "projection": net.get_layer("digit_value_alignment_loss").projection,
    }
    with tf.GradientTape() as tape:
        model(data()[0], training=True)
        term = tf.add_n(model.losses)
    gradients = tape.gradient(term, list(variables.values()))
    for name, gradient in zip(variables, gradients):
        assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0, name


def test_a_keras_round_trip_keeps_the_projection_and_the_term(tmp_path):
    model = make()
    model.compile(optimizer="adam")
    features, labels = data()
    model.fit(features, labels, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    layer = reloaded.network.get_layer("digit_value_alignment_loss")
    np.testing.assert_array_equal(layer.projection.numpy(), model.network.get_layer(layer.name).projection.numpy())
    logs = model.evaluate(features, labels, batch_size=32, return_dict=True, verbose=0)
    reloaded_logs = reloaded.evaluate(features, labels, batch_size=32, return_dict=True, verbose=0)
    assert reloaded_logs["digit_value_alignment_loss"] == pytest.approx(logs["digit_value_alignment_loss"], rel=1e-5)


def test_any_scheme_with_alignment_of_equal_widths_passes_the_contract(tmp_path):
    def scheme(features, trunk, tasks):
        return apply_feature_alignment(hard_sharing(features, trunk, tasks, shared_depth=1).features,
                                       {"tasks": ["value", "digit"], "weight": 0.5})

    model = make(scheme)
    history = check_model(model, *data(), tmp_path)
    assert "value_digit_alignment_loss" in history


@pytest.mark.parametrize(
    "option",
    [
        {"tasks": ["digit"]},
        {"tasks": ["digit", "digit"]},
        {"tasks": ["digit", "price"]},
        {"tasks": ["digit", "value"], "weight": -1.0},
        {"tasks": ["digit", "value"], "weight": "high"},
        {"tasks": ["digit", "value"], "scale": 2.0},
        ["digit", "value"],
    ],
)
def test_bad_options_name_feature_alignment(option):
    features = {"digit": keras.Input((4,)), "value": keras.Input((4,))}
    with pytest.raises(OptionError, match="feature_alignment") as error:
        apply_feature_alignment(features, option)
    assert error.value.option == "feature_alignment"


def test_several_pairs_each_get_their_own_term():
    features = {name: keras.Input((4,)) for name in ("a", "b", "c")}
    aligned = apply_feature_alignment(features, [{"tasks": ["a", "b"]}, {"tasks": ["a", "c"], "weight": 0.1}])
    model = keras.Model(list(features.values()), aligned)
    names = {layer.name: layer.weight for layer in model.layers if isinstance(layer, FeatureAlignmentLoss)}
    assert names == {"a_b_alignment_loss": 1.0, "a_c_alignment_loss": 0.1}


def test_recipes_and_build_model_take_feature_alignment_with_any_scheme(tmp_path):
    """`model.feature_alignment` in a recipe reaches build_network; a projection passes the contract."""
    from mtl_zoo.recipes.validation import validate_recipe
    from mtl_zoo.training.run import build_model_from_recipe

    recipe = validate_recipe({
        "name": "aligned",
        "data": {"name": "multi_digits"},
        "tasks": [{"name": "left_digit", "kind": "classification", "classes": 10},
                  {"name": "right_digit", "kind": "classification", "classes": 10}],
        "model": {"trunk": "vision_conv", "trunk_options": {"filters": [4], "dense_units": [8]},
                  "sharing": "hard", "shared_depth": 1,
                  "feature_alignment": [{"tasks": ["left_digit", "right_digit"], "weight": 0.5}]},
        "training": {"epochs": 1},
    }, source="aligned.yaml")
    model = build_model_from_recipe(recipe)
    assert [layer.name for layer in model.auxiliary_losses] == ["left_digit_right_digit_alignment_loss"]
    assert model.auxiliary_losses[0].weight == 0.5

    projected = make()  # widths 8 and 64: a learned projection feeds only the loss term
    assert projected.auxiliary_losses[0].projection is not None
    features, labels = data()
    history = check_model(projected, features, labels, tmp_path)
    assert history["digit_value_alignment_loss"][0] > 0
