"""DSelect-k: smooth step, selector closed forms, gates sum to 1, at most k experts after a tiny fit."""

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.errors import OptionError
from mtl_zoo.sharing.dselect_k import DSelectKGate, smooth_step
from mtl_zoo.sharing.expert_usage import expert_usage
from mtl_zoo.layers.experts import MixExperts
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [Task("a", "regression"), Task("b", "regression")]


def test_smooth_step_is_the_cubic_between_flat_ends():
    gamma = 2.0
    x = np.array([-5.0, -1.0, -0.5, 0.0, 0.3, 1.0, 7.0], "float32")
    cubic = -2 / gamma**3 * x**3 + 3 / (2 * gamma) * x + 0.5
    expected = np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, cubic))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(smooth_step(x, gamma)), expected, atol=1e-6)
    assert expected[1] == 0.0 and expected[3] == 0.5 and expected[5] == 1.0


def static_gate(num_experts, z, w, gamma=1.0):
    """The gate weights `[num_experts]` of a static DSelectKGate with logits `z [k, bits]`, `w [k]`."""
    z, w = np.asarray(z, "float32"), np.asarray(w, "float32")
    layer = DSelectKGate(num_experts, k=len(w), gamma=gamma, per_example=False)
    layer.build((None, 1))
    layer.set_weights([z.reshape(-1)] + ([w] if len(w) > 1 else []))  # one selector has no weights
    weights, selectors = layer(np.zeros((1, 1), "float32"))
    return keras.ops.convert_to_numpy(MixExperts()([weights, selectors]))[0]


def test_binary_selectors_pick_the_experts_their_codes_name():
    # Selector 1's bits (1, 0) name expert 2, selector 2's (0, 0) expert 0; weights softmax([0, log 3]).
    gate = static_gate(4, z=[[1.0, -1.0], [-1.0, -1.0]], w=[0.0, np.log(3.0)])
    np.testing.assert_allclose(gate, [0.75, 0.0, 0.25, 0.0], atol=1e-6)


def test_soft_bits_give_the_product_of_bit_probabilities():
    z = np.array([[0.1, -0.2]], "float32")
    s = keras.ops.convert_to_numpy(smooth_step(z, 1.0))[0]
    expected = [(1 - s[0]) * (1 - s[1]), (1 - s[0]) * s[1], s[0] * (1 - s[1]), s[0] * s[1]]
    np.testing.assert_allclose(static_gate(4, z, w=[0.0]), expected, rtol=1e-5)


def test_codes_beyond_the_experts_wrap_around_so_gates_still_sum_to_one():
    np.testing.assert_allclose(static_gate(3, z=[[1.0, 1.0]], w=[0.0]), [1.0, 0.0, 0.0])  # code 3 -> expert 0
    rng = np.random.default_rng(0)
    for _ in range(5):
        gate = static_gate(5, z=rng.normal(scale=0.3, size=(2, 3)), w=rng.normal(size=2))
        assert gate.shape == (5,) and (gate >= 0).all()
        np.testing.assert_allclose(gate.sum(), 1.0, rtol=1e-5)


def model(**options):
    keras.utils.set_random_seed(0)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    return build_model(INPUTS, trunk, TASKS, sharing="dselect_k", expert_units=[8], **options)


def data(size=128):
    rng = np.random.default_rng(0)
    images = rng.random((size, 8, 8, 1), dtype="float32")
    flat = images.reshape(size, -1)
    return {"image": images}, {"a": flat[:, :3].sum(1, keepdims=True), "b": flat[:, 10:13].mean(1, keepdims=True)}


def test_per_example_gates_are_distributions():
    features, _ = data(32)
    outputs = model(num_experts=6, k=3).predict(features, verbose=0)
    for task in "ab":
        gates = outputs[f"{task}_gate_weights"]
        assert gates.shape == (32, 6) and (gates >= 0).all()
        np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("per_example", [True, False])
def test_after_a_tiny_fit_each_task_uses_at_most_k_experts(per_example):
    k, num_experts = 2, 5
    network = model(num_experts=num_experts, k=k, per_example=per_example, entropy_weight=0.5)
    features, labels = data()
    before = network.predict(features, verbose=0)
    assert (before["a_gate_weights"] > 0).sum(axis=1).min() == num_experts  # every expert in use at first
    network.compile(optimizer=keras.optimizers.Adam(0.05))
    history = network.fit(features, labels, epochs=6, batch_size=32, verbose=0).history
    assert history["a_selector_entropy_loss"][-1] < history["a_selector_entropy_loss"][0]
    after = network.predict(features, verbose=0)
    for task in "ab":
        used_per_example = (after[f"{task}_gate_weights"] > 0).sum(axis=1)
        assert used_per_example.max() <= k, task
        if not per_example:
            assert (expert_usage(network, features)[task] > 0).sum() <= k, task


@pytest.mark.parametrize(
    "options, field",
    [({"num_experts": 1, "k": 1}, "num_experts"), ({"num_experts": 3, "k": 4}, "k"), ({"gamma": 0.0}, "gamma"),
     ({"entropy_weight": -1.0}, "entropy_weight")],
)
def test_bad_options_name_the_option(options, field):
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    with pytest.raises(OptionError) as error:
        build_network(INPUTS, trunk, TASKS, sharing="dselect_k", **options)
    assert error.value.option == field


def test_gate_config_round_trips():
    layer = DSelectKGate(5, 2, gamma=0.5, per_example=False, name="g")
    assert DSelectKGate.from_config(layer.get_config()).get_config() == layer.get_config()
