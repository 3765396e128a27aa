"""conll2003: sentences and padded POS/chunk/NER tags read through tfds.load('conll2003'), on TFDS mock data."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mtl_zoo.data.datasets import conll2003
from mtl_zoo.registry import DATASETS
from mtl_zoo.trunks.text import text


@pytest.fixture(scope="module")
def mocked():
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        yield


def test_the_tag_names_are_those_of_the_tfds_builder():
    from tensorflow_datasets.core.dataset_builders.conll import conll_dataset_builder_utils as conll

    assert conll2003.POS_TAGS == conll.POS_TAGS and conll2003.CHUNK_TAGS == conll.CHUNK_TAGS
    assert conll2003.NER_TAGS == conll.NER_TAGS
    source = DATASETS.get("conll2003")
    assert {name: (spec.kind, spec.classes) for name, spec in source.labels.items()} == {
        "pos": ("tagging", 47), "chunks": ("tagging", 23), "ner": ("tagging", 9)}
    assert source.splits == ("train", "validation", "test") and "tfds.load('conll2003')" in source.how_to_get


def test_sentences_and_tags_against_the_raw_tfds_examples(mocked):
    dataset = DATASETS.get("conll2003").load_split("validation")
    features, labels = dataset.element_spec
    assert features == {"sentence": tf.TensorSpec((), tf.string)}
    assert labels == {name: tf.TensorSpec((48,), tf.int32) for name in ("pos", "chunks", "ner")}
    raw = list(tfds.load("conll2003", split="dev").as_numpy_iterator())
    loaded = list(dataset.as_numpy_iterator())
    assert len(loaded) == len(raw) == 6
    for example, (features, labels) in zip(raw, loaded):
        tokens = [token.decode() for token in example["tokens"]]
        words = features["sentence"].decode().split(" ")
        assert len(words) == len(tokens)  # one word per token, whatever the mock tokens hold
        assert words == ["_" if not token else "".join("_" if c.isspace() else c for c in token)
                         for token in tokens]
        for name in ("pos", "chunks", "ner"):
            kept = min(len(tokens), len(example[name]), 48)
            expected = np.full(48, -1)
            expected[:kept] = example[name][:kept]
            np.testing.assert_array_equal(labels[name], expected)


def test_the_text_trunk_splits_a_sentence_into_exactly_its_tokens():
    tokens = ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", ".", "U.N.", "--", "4-3", ","]
    sentence = conll2003.sentence_text(tokens)
    trunk = text({"sentence": DATASETS.get("conll2003").inputs["sentence"]}, num_blocks=1, embedding_dim=4, ffn_units=4, sequence_length=conll2003.SEQUENCE_LENGTH,
                 standardize="none", pooling="none")
    trunk.adapt(tf.data.Dataset.from_tensor_slices({"sentence": [sentence]}))
    vocabulary = trunk.stem.vectorizer.get_vocabulary()
    ids = trunk.stem.vectorizer(tf.reshape(sentence, (1,))).numpy()[0]
    assert [vocabulary[i] for i in ids[:len(tokens)]] == tokens and (ids[len(tokens):] == 0).all()


def test_tags_past_sequence_length_are_cut_and_tags_without_a_token_are_missing():
    assert conll2003.padded_tags(np.arange(60), 60).numpy().tolist() == list(range(48))
    assert conll2003.padded_tags([4, 5, 6], 2, sequence_length=4).numpy().tolist() == [4, 5, -1, -1]


def test_recipe_tasks_without_class_names_take_the_tag_names_of_the_data_set(tmp_path):
    from pathlib import Path

    import yaml
    from tensorflow_datasets.core.dataset_builders.conll import conll_dataset_builder_utils as conll

    from mtl_zoo.recipes.loading import load_recipe

    path = Path(__file__).resolve().parents[3] / "recipes" / "conll2003_hard.yaml"
    recipe = load_recipe(path)
    assert {task.name: tuple(task.class_names) for task in recipe.tasks} == {
        "pos": tuple(conll.POS_TAGS), "chunks": tuple(conll.CHUNK_TAGS), "ner": tuple(conll.NER_TAGS)}
    document = yaml.safe_load(path.read_text())
    own_names = ["O", "B-P", "I-P", "B-O", "I-O", "B-L", "I-L", "B-M", "I-M"]
    document["tasks"][2]["class_names"] = own_names  # a recipe's own names are kept
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(document))
    assert list(load_recipe(tmp_path / "recipe.yaml").tasks[2].class_names) == own_names
