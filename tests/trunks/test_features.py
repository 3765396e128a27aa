"""features trunk: raw tabular columns in, learning, OOV at serving, round trips, sharing depth."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, build_model, build_network
from mtl_zoo.errors import OptionError
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.features import features

INPUTS = {
    "income": InputSpec((), "float32", feature_type="numeric"),
    "city": InputSpec((), "string", feature_type="categorical"),
    "user_id": InputSpec((), "int64", feature_type="id"),
    "review": InputSpec((), "string", feature_type="text"),
}
TASKS = [Task("spend", "regression"), Task("churn", "binary")]
CITY_EFFECT = {"oslo": 2.0, "rome": -1.0, "lima": 0.5, "kyiv": -2.0}
PHRASES = ["great food", "bad service", "great view", "bad food again", "quiet street"]


def make_table(size, seed, cities=tuple(CITY_EFFECT)):
    """A table with a learnable target per task: spend from income and city, churn from the review."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({
        "income": rng.normal(50.0, 10.0, size).astype("float32"),
        "city": rng.choice(cities, size),
        "user_id": rng.integers(0, 30, size).astype("int64"),
        "review": rng.choice(PHRASES, size),
    })
    effect = table["city"].map(CITY_EFFECT).fillna(0.0)
    table["spend"] = (1.5 * (table["income"] - 50.0) / 10.0 + effect).astype("float32")
    table["churn"] = table["review"].str.contains("bad").astype("float32")
    table.loc[::9, "income"] = np.nan
    return table


def columns(table) -> dict:
    return {name: table[name].to_numpy(dtype=object if INPUTS[name].dtype == "string" else None)
            for name in INPUTS}


def labels(table) -> dict:
    return {task.name: table[task.name].to_numpy("float32") for task in TASKS}


def dataset(table):
    return tf.data.Dataset.from_tensor_slices((columns(table), labels(table)))


def adapted_trunk(table, **options):
    trunk = features(INPUTS, **options)
    return trunk.adapt(dataset(table).map(lambda features, labels: features))


@pytest.fixture(scope="module")
def train_table():
    return make_table(512, seed=0)


@pytest.fixture(scope="module")
def cross_trunk(train_table):
    """One adapted trunk (a cross block, a dense block) that several networks are built from."""
    return adapted_trunk(train_table, units=[6], cross_layers=1)


@pytest.fixture(scope="module")
def trained(train_table):
    keras.utils.set_random_seed(0)
    model = build_model(INPUTS, adapted_trunk(train_table, units=[16, 8], cross_layers=1), TASKS, shared_depth=2)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(dataset(train_table).shuffle(512, seed=0).batch(64), epochs=8, verbose=0).history
    return model, history


def test_fit_learns_both_tasks_from_raw_columns(trained):
    model, history = trained
    assert history["spend_loss"][-1] < 0.15 * history["spend_loss"][0]
    assert history["churn_loss"][-1] < 0.2 * history["churn_loss"][0]
    test = make_table(128, seed=1)
    logs = model.evaluate(dataset(test).batch(64), return_dict=True, verbose=0)
    assert logs["spend_loss"] < 0.15 * np.var(test["spend"])  # mean squared error against the target's variance
    assert logs["churn_accuracy"] > 0.95


def test_adaptation_saw_only_the_training_split(train_table, cross_trunk):
    test = make_table(64, seed=2, cities=("oslo", "paris"))  # "paris" only in the test split
    trunk = cross_trunk
    lookup = trunk.stem.columns["city"].lookup
    assert "paris" not in lookup.get_vocabulary()
    assert lookup(tf.constant(["paris", "oslo"])).numpy().tolist()[0] == 0  # the OOV bucket
    np.testing.assert_allclose(trunk.stem.columns["income"].normalization.mean.numpy().ravel(),
                               [np.nanmean(train_table["income"])], rtol=1e-5)
    network = build_network(INPUTS, trunk, TASKS)
    outputs = network(columns(test), training=False)
    assert all(np.isfinite(value.numpy()).all() for value in outputs.values())


def test_contract_and_saved_model_serve_raw_and_unseen_values(trained, train_table, tmp_path):
    model, _ = trained
    check_model(model, columns(train_table[:64]), labels(train_table[:64]), tmp_path)
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    raw = {
        "income": np.array([np.nan, 61.5, 38.0], "float32"),
        "city": np.array(["paris", "oslo", ""], dtype=object),  # paris and "" never seen in training
        "user_id": np.array([10_000, 3, -1], "int64"),
        "review": np.array(["nothing known here", "bad food", ""], dtype=object),
    }
    expected = model.predict(raw, verbose=0)
    outputs = served.signatures["serving_default"](**{name: tf.constant(value) for name, value in raw.items()})
    for name in expected:
        assert np.isfinite(expected[name]).all()
        np.testing.assert_allclose(outputs[name].numpy(), expected[name], atol=1e-5)
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    for name, value in reloaded.predict(raw, verbose=0).items():
        np.testing.assert_array_equal(value, expected[name])


def test_embedding_bag_on_character_ngrams_trains_and_round_trips(train_table, tmp_path):
    keras.utils.set_random_seed(1)
    trunk = adapted_trunk(train_table, units=[8], text_output="embedding_bag", text_split="character",
                          text_ngrams=2, text_sequence_length=24)
    model = build_model(INPUTS, trunk, TASKS)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(dataset(train_table).batch(64), epochs=6, verbose=0).history
    assert history["churn_loss"][-1] < 0.2 * history["churn_loss"][0]
    raw = columns(train_table[:16])
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    for name, value in reloaded.predict(raw, verbose=0).items():
        np.testing.assert_array_equal(value, model.predict(raw, verbose=0)[name])


def embedding_parameters(trunk, dim=8):
    stem = trunk.stem.columns
    return dim * (stem["city"].lookup.vocabulary_size() + stem["user_id"].lookup.vocabulary_size())


@pytest.mark.parametrize("shared_depth", [0, 1, 2])
def test_hard_sharing_depth_counts_the_cross_and_dense_blocks(cross_trunk, shared_depth):
    trunk = cross_trunk
    width = 2 + 8 + 8 + len(trunk.stem.columns["review"].vectorizer.get_vocabulary())  # income+flag, 2 embeddings
    blocks = [width * width + width, width * 6 + 6]  # cross layer, dense block
    expected = (embedding_parameters(trunk) + 3  # normalization: mean, variance, count
                + sum(blocks[:shared_depth]) + len(TASKS) * sum(blocks[shared_depth:]) + len(TASKS) * 7)
    network = build_network(INPUTS, trunk, TASKS, sharing="hard", shared_depth=shared_depth)
    assert network.count_params() == expected
    names = {layer.name for layer in network.layers}
    assert ("shared_block_1_cross" in names) == (shared_depth >= 1)  # a block named as the scheme shares it
    assert ("spend_block_1_cross" in names) == (shared_depth == 0)


def test_mmoe_experts_are_copies_of_the_blocks_above_the_shared_depth(train_table, cross_trunk):
    trunk = cross_trunk
    network = build_network(INPUTS, trunk, TASKS, sharing="mmoe", num_experts=3, shared_depth=1)
    names = {layer.name for layer in network.layers}
    assert {"shared_block_1_cross", "shared_experts_1_block_2", "shared_experts_3_block_2"} <= names
    outputs = network(columns(train_table[:5]), training=False)
    np.testing.assert_allclose(outputs["spend_gate_weights"].numpy().sum(axis=1), np.ones(5), rtol=1e-6)
    with pytest.raises(OptionError, match="shared_depth"):
        build_network(INPUTS, trunk, TASKS, sharing="hard", shared_depth=3)


def test_unadapted_trunk_builds_for_option_checks_only():
    trunk = features(INPUTS, units=[4], text_max_tokens=20)
    assert trunk.needs_adaptation
    network = build_network(INPUTS, trunk, TASKS)
    assert network.get_layer("review_tf_idf").output.shape == (None, 20)


@pytest.mark.parametrize("options, option", [
    ({"units": []}, "units"), ({"units": [0]}, "units"), ({"dropout": 1.0}, "dropout"),
    ({"embedding_dim": 0}, "embedding_dim"), ({"id_max_tokens": 1}, "id_max_tokens"),
    ({"cross_layers": -1}, "cross_layers"), ({"text_output": "bert"}, "text_output"),
    ({"text_split": "sentence"}, "text_split"), ({"text_ngrams": 0}, "text_ngrams"),
    ({"text_max_tokens": 2}, "text_max_tokens"), ({"text_sequence_length": True}, "text_sequence_length"),
])
def test_bad_options_name_the_option(options, option):
    with pytest.raises(OptionError) as error:
        features(INPUTS, **options)
    assert error.value.option == option and "Received" in str(error.value) and "\n" not in str(error.value)


def test_adaptation_data_without_a_column_is_refused_by_name(train_table):
    rows = dataset(train_table).map(lambda features, labels: {"income": features["income"]})
    with pytest.raises(ValueError, match="no column 'city'") as error:
        features(INPUTS).adapt(rows)
    assert "\n" not in str(error.value)


def test_cross_block_alone_is_a_trunk():
    assert features(INPUTS, units=[], cross_layers=2).num_blocks == 1


@pytest.mark.parametrize("inputs, words", [
    ({"image": InputSpec((8, 8, 1))}, "has no feature_type"),
    ({"age": InputSpec((), "string", feature_type="numeric")}, "needs a float dtype"),
    ({"city": InputSpec((), "float32", feature_type="categorical")}, "'string' or 'int64'"),
    ({"review": InputSpec((3,), "string", feature_type="text")}, "shape ()"),
    ({"x": InputSpec((), feature_type="ordinal")}, "unknown feature_type"),
    ({}, "at least one input"),
])
def test_inputs_the_trunk_cannot_take_are_refused_in_one_line(inputs, words):
    with pytest.raises(ValueError) as error:
        features(inputs)
    assert words in str(error.value) and "\n" not in str(error.value)
