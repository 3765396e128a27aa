"""The tagging kind: per-token masked loss, token accuracy, entity F1, heads on token maps."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo.models.builders import build_network
from mtl_zoo.tasks.kinds.base import FeatureMapError
from mtl_zoo.tasks.task import build_head
from mtl_zoo.tasks.kinds.tagging_metrics import EntityF1
from mtl_zoo.models.multi_task_model import MultiTaskModel
from mtl_zoo.tasks.losses import masked_task_loss_and_count
from mtl_zoo.tasks.metrics import make_task_metrics, update_task_metrics
from mtl_zoo.tasks.task import Task
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.base import Trunk

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def one_hot(tags, classes=len(TAGS)):
    return np.eye(classes, dtype="float32")[np.asarray(tags)]


def test_masked_token_accuracy_and_loss_skip_padding():
    task = Task("ner", "tagging", classes=3)
    labels = np.array([[1, 2, 0, -1, -1], [0, 1, -1, -1, -1]], "int32")
    predicted = np.array([[1, 0, 0, 2, 2], [0, 2, 1, 1, 1]])  # padding predictions are all wrong on purpose
    predictions = np.full((2, 5, 3), 0.1, "float32")
    for (row, column), tag in np.ndenumerate(predicted):
        predictions[row, column, tag] = 0.8
    metrics = make_task_metrics(task)
    update_task_metrics(metrics, task, labels, predictions)
    # observed tokens: (1,1) right, (2,0) wrong, (0,0) right, (0,0) right, (1,2) wrong -> 3 of 5
    assert float(metrics[0].result()) == pytest.approx(3 / 5)
    loss, count = masked_task_loss_and_count(task, labels, predictions)
    expected = -(3 * math.log(0.8) + 2 * math.log(0.1)) / 5
    assert float(count) == 5.0
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_a_batch_of_padding_only_contributes_nothing():
    task = Task("ner", "tagging", classes=3)
    loss, count = masked_task_loss_and_count(task, np.full((2, 4), -1), np.full((2, 4, 3), 1 / 3, "float32"))
    assert (float(loss), float(count)) == (0.0, 0.0)


def test_an_out_of_range_tag_is_counted_invalid():
    task = Task("ner", "tagging", classes=3)
    split = task.kind_spec.split_labels(task, np.array([[0, 3, -1]]), np.zeros((1, 3, 3)))
    assert split.mask.numpy().tolist() == [[1.0, 0.0, 0.0]] and float(split.num_invalid) == 1.0


def test_entity_f1_on_a_hand_counted_batch():
    # sequence 1 true: PER[0:2], LOC[3:4]; predicted: PER[0:2] (right), LOC[3:3] (span too short), LOC[4:4]
    # sequence 2 true: LOC[1:1], PER[2:2] (padding after); predicted: LOC[1:2] (one entity, wrong span; the
    #   I-LOC after B-LOC continues it), and the B-PER at a padded position is ignored
    labels = np.array([[1, 2, 0, 3, 4, 0], [0, 3, 1, -1, -1, -1]])
    predicted = np.array([[1, 2, 0, 3, 3, 0], [0, 3, 4, 1, 0, 0]])
    metric = EntityF1(TAGS)
    weights = (labels >= 0).astype("float32")
    metric.update_state(np.maximum(labels, 0), one_hot(predicted), sample_weight=weights)
    # true entities 4, predicted 4 (PER, LOC, LOC, LOC[1:2]), correct 1 -> F1 = 2/8
    assert (float(metric.true_positives), float(metric.true_entities), float(metric.predicted_entities)) == (1, 4, 4)
    assert float(metric.result()) == pytest.approx(0.25)
    # micro over the data set: a second batch with one exact match
    metric.update_state(np.array([[3, 4, 4]]), one_hot([[3, 4, 4]]))
    assert float(metric.result()) == pytest.approx(2 * 2 / (5 + 5))


def reference_entities(tags):
    """conlleval-style spans {(start, end, type)} of one sequence of tag names."""
    spans, start, kind = set(), None, None
    for position, tag in enumerate(list(tags) + ["O"]):
        prefix, _, entity = tag.partition("-")
        continues = prefix == "I" and entity == kind
        if start is not None and not continues:
            spans.add((start, position - 1, kind))
            start, kind = None, None
        if prefix in ("B", "I") and not continues:
            start, kind = position, entity
    return spans


def test_entity_f1_matches_a_span_by_span_reference_and_runs_under_xla():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(TAGS), (16, 9))
    predicted = np.where(rng.random((16, 9)) < 0.7, labels, rng.integers(0, len(TAGS), (16, 9)))
    lengths = rng.integers(1, 10, 16)
    weights = (np.arange(9)[None, :] < lengths[:, None]).astype("float32")
    true_positives = true_total = predicted_total = 0
    for row in range(16):
        true = reference_entities([TAGS[t] for t in labels[row, :lengths[row]]])
        guess = reference_entities([TAGS[t] for t in predicted[row, :lengths[row]]])
        true_positives += len(true & guess)
        true_total += len(true)
        predicted_total += len(guess)
    metric = EntityF1(TAGS)

    @tf.function(jit_compile=True)
    def update(y_true, y_pred, sample_weight):
        metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    update(labels, one_hot(predicted), weights)
    assert (float(metric.true_positives), float(metric.true_entities), float(metric.predicted_entities)) == (
        true_positives, true_total, predicted_total)
    assert float(metric.result()) == pytest.approx(2 * true_positives / (true_total + predicted_total))


def test_class_names_default_metrics_and_config():
    task = Task("ner", "tagging", classes=5, class_names=TAGS)
    assert task.metrics == ("accuracy", "entity_f1")
    assert task.get_config()["class_names"] == TAGS
    assert Task.from_config(task.get_config()) == task
    assert Task("pos", "tagging", classes=2, class_names=["NOUN", "VERB"]).metrics == ("accuracy",)
    with pytest.raises(ValueError, match="class_names") as error:
        Task("pos", "tagging", classes=2, metrics=["entity_f1"])
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="one name per class"):
        Task("ner", "tagging", classes=4, class_names=TAGS)


def test_recipe_task_section_takes_class_names():
    from mtl_zoo.recipes.schema import TaskConfig

    config = TaskConfig.model_validate({"name": "ner", "kind": "tagging", "classes": 5, "class_names": TAGS})
    assert config.to_task().class_names == tuple(TAGS)


def test_a_tiny_token_model_trains_round_trips_and_exports(tmp_path):
    keras.utils.set_random_seed(0)
    token_ids = keras.Input((6,), dtype="int32", name="token_ids")
    embedded = keras.layers.Embedding(20, 8, name="embedding")(token_ids)
    task = Task("ner", "tagging", classes=5, class_names=TAGS, head_units=[8])
    network = keras.Model({"token_ids": token_ids}, {"ner": build_head(task, embedded, feature_maps=[embedded])})
    model = MultiTaskModel(network, [task])
    rng = np.random.default_rng(1)
    features = {"token_ids": rng.integers(1, 20, (32, 6)).astype("int32")}
    labels = {"ner": np.where(np.arange(6)[None] < rng.integers(2, 7, (32, 1)), features["token_ids"] % 5, -1)}
    history = check_model(model, features, labels, tmp_path, epochs=3)
    assert all(np.isfinite(history["loss"])) and history["loss"][-1] < history["loss"][0]
    assert 0.0 <= history["ner_entity_f1"][-1] <= 1.0


def test_hard_sharing_gives_the_tagging_head_the_last_token_map():
    from mtl_zoo.data.source import InputSpec

    pooled = lambda prefix: keras.layers.GlobalAveragePooling1D(name=f"{prefix}_pool")  # noqa: E731
    trunk = Trunk([lambda prefix: keras.layers.Dense(8, name=f"{prefix}_dense"), pooled])
    tasks = [Task("ner", "tagging", classes=5), Task("topic", "classification", classes=3)]
    network = build_network({"x": InputSpec((7, 4))}, trunk, tasks, shared_depth=1)
    assert tuple(network.output["ner"].shape) == (None, 7, 5)
    assert tuple(network.output["topic"].shape) == (None, 3)
    dense = network.get_layer("shared_block_1_dense")
    head_input = network.get_layer("ner").input
    assert tuple(head_input.shape) == (None, 7, 8) and dense.output.shape == head_input.shape


def test_a_scheme_without_feature_maps_is_named_in_a_one_line_error():
    from mtl_zoo.data.source import InputSpec

    def flat_scheme(features, trunk, tasks):
        return {task.name: keras.layers.Flatten()(features) for task in tasks}

    trunk = Trunk([lambda prefix: keras.layers.Dense(8, name=f"{prefix}_dense")])
    with pytest.raises(FeatureMapError, match="flat_scheme") as error:
        build_network({"x": InputSpec((7, 4))}, trunk, [Task("ner", "tagging", classes=5)], sharing=flat_scheme)
    assert "\n" not in str(error.value) and "token-level feature map" in str(error.value)
    with pytest.raises(FeatureMapError):
        build_head(Task("ner", "tagging", classes=5), keras.Input((8,)))


def test_the_text_trunk_serves_a_tagging_and_a_sentence_task_from_one_encoder():
    from mtl_zoo.models.builders import build_model
    from mtl_zoo.data.source import InputSpec
    from mtl_zoo.trunks.text import text

    keras.utils.set_random_seed(0)
    inputs = {"title": InputSpec((), "string")}
    trunk = text(inputs, num_blocks=1, sequence_length=6, embedding_dim=8)
    titles = ["the big sleep", "big fish", "a man", "the big lebowski fish"] * 4
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"title": titles}))
    tasks = [Task("ner", "tagging", classes=3, class_names=["O", "B-X", "I-X"]), Task("genre", "classification", 2)]
    model = build_model(inputs, trunk, tasks, shared_depth=2)
    # the tagging head reads the encoder block's tokens, not the pooled block after it
    assert model.network.get_layer("ner").input is model.network.get_layer("shared_block_1").output
    tags = np.full((16, 6), -1, "int32")
    for row, title in enumerate(titles):
        tags[row, :len(title.split())] = np.arange(len(title.split())) % 3
    data = tf.data.Dataset.from_tensor_slices(({"title": titles}, {"ner": tags, "genre": np.arange(16) % 2}))
    model.compile(optimizer="adam")
    history = model.fit(data.batch(8), epochs=2, verbose=0).history
    assert np.isfinite(history["ner_loss"]).all() and history["ner_loss"][-1] < history["ner_loss"][0]
