"""CoNLL-2003 through `tfds.load("conll2003")`: POS, chunk and named-entity tags of each token, one encoder.

For users who have CoNLL-2003 in their TFDS data folder (TFDS downloads it
from the address its builder names; see the how-to line). Each example is
one sentence of Reuters news (Tjong Kim Sang and De Meulder, 2003,
https://aclanthology.org/W03-0419/), 14,041 / 3,250 / 3,453 sentences in
train / validation (TFDS "dev") / test.

Input `sentence`: the sentence's tokens joined by single spaces, a raw
string. With the `text` trunk's `standardize: none`, the trunk's
whitespace split gives back exactly these tokens, so token `i` of the model
is token `i` of the sentence. (CoNLL tokens hold no whitespace; a token
that would, or an empty one, is written with `_` in its place, so the
split never merges or drops tokens.)

Labels, three `tagging` tasks over the same tokens, int32 of shape
`(SEQUENCE_LENGTH,)`: `pos` (47 Penn Treebank tags, `POS_TAGS`),
`chunks` (23 IOB2 chunk tags, `CHUNK_TAGS`) and `ner` (9 IOB2 entity
tags, `NER_TAGS`). A sentence's tags are truncated to its first
`SEQUENCE_LENGTH` tokens and padded with -1 (missing), so a recipe's text
trunk must keep `sequence_length: 48` (= `SEQUENCE_LENGTH`); tokens past it
are neither seen nor scored. The tag names are those of the TFDS builder's
`ClassLabel` features (`tfds_class_names`), so a recipe's tagging task may
leave out `class_names`.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> source = DATASETS.get("conll2003")
>>> sorted(source.inputs), sorted(source.labels), SEQUENCE_LENGTH
(['sentence'], ['chunks', 'ner', 'pos'], 48)
>>> source.labels["ner"].vocabulary[:3]
('O', 'B-PER', 'I-PER')
"""

from __future__ import annotations

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

SEQUENCE_LENGTH = 48
# TFDS names its splits train/dev/test.
TFDS_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
# The tag names of TFDS' conll2003 builder (tensorflow_datasets.core.dataset_builders.conll), index = tag id.
POS_TAGS = (
    '"', "''", "#", "$", "(", ")", ",", ".", ":", "``", "CC", "CD", "DT", "EX", "FW", "IN", "JJ", "JJR", "JJS",
    "LS", "MD", "NN", "NNP", "NNPS", "NNS", "NN|SYM", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS", "RP",
    "SYM", "TO", "UH", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB",
)
CHUNK_TAGS = (
    "O", "B-ADJP", "I-ADJP", "B-ADVP", "I-ADVP", "B-CONJP", "I-CONJP", "B-INTJ", "I-INTJ", "B-LST", "I-LST",
    "B-NP", "I-NP", "B-PP", "I-PP", "B-PRT", "I-PRT", "B-SBAR", "I-SBAR", "B-UCP", "I-UCP", "B-VP", "I-VP",
)
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
TAGS = {"pos": POS_TAGS, "chunks": CHUNK_TAGS, "ner": NER_TAGS}

HOW_TO_GET = (
    "CoNLL-2003 is read through TFDS 'conll2003': run tfds.load('conll2003') once on a machine with internet "
    "(TFDS downloads and prepares it) and use or copy that TFDS data folder (data.data_dir)."
)


def padded_tags(tags, num_tokens, sequence_length: int = SEQUENCE_LENGTH):
    """The first `min(num_tokens, sequence_length)` tags as int32, then -1 up to `sequence_length`.

    Args:
        tags: 1-D integer tensor. A sentence's tag ids.
        num_tokens: int scalar tensor. The sentence's token count (a tag
            past it has no token and is dropped).
        sequence_length: int. Output length. Defaults to `SEQUENCE_LENGTH`.

    Example:

    >>> padded_tags([3, 1, 2], 3, sequence_length=5).numpy().tolist()
    [3, 1, 2, -1, -1]
    >>> padded_tags([3, 1, 2], 3, sequence_length=2).numpy().tolist()
    [3, 1]
    """
    import tensorflow as tf

    tags = tf.cast(tags, tf.int32)
    kept = tags[: tf.minimum(tf.cast(num_tokens, tf.int32), sequence_length)]
    padded = tf.pad(kept, [[0, sequence_length - tf.shape(kept)[0]]], constant_values=-1)
    return tf.ensure_shape(padded, (sequence_length,))


def sentence_text(tokens):
    """The tokens joined by single spaces; whitespace inside a token, or an empty token, becomes `_`.

    Example:

    >>> sentence_text(["EU", "rejects", "German", "call", "."]).numpy().decode()
    'EU rejects German call .'
    >>> sentence_text(["a b", ""]).numpy().decode()
    'a_b _'
    """
    import tensorflow as tf

    tokens = tf.strings.regex_replace(tf.convert_to_tensor(tokens, tf.string), r"\s", "_")
    tokens = tf.where(tf.strings.length(tokens) > 0, tokens, "_")
    return tf.strings.reduce_join(tokens, separator=" ")


def to_features_and_labels(example):
    """Maps a `conll2003` TFDS example to `({"sentence"}, {"pos", "chunks", "ner"})`.

    Example:

    >>> example = {"tokens": ["Peter", "Blackburn"], "pos": [22, 22], "chunks": [11, 12], "ner": [1, 2]}
    >>> features, labels = to_features_and_labels(example)
    >>> features["sentence"].numpy().decode(), labels["ner"].numpy().tolist()[:3]
    ('Peter Blackburn', [1, 2, -1])
    """
    import tensorflow as tf

    num_tokens = tf.shape(example["tokens"])[0]
    labels = {name: padded_tags(example[name], num_tokens) for name in TAGS}
    return {"sentence": sentence_text(example["tokens"])}, labels


def tfds_class_names(data_dir=None) -> dict:
    """Label name -> tag names (index order) of the TFDS `conll2003` builder's `ClassLabel` features.

    Reads the builder's feature description only, no examples.

    Args:
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default.

    Example:

    >>> tfds_class_names()["ner"][:3]  # doctest: +SKIP
    ('O', 'B-PER', 'I-PER')
    """
    import tensorflow_datasets as tfds

    features = tfds.builder("conll2003", data_dir=data_dir).info.features
    return {name: tuple(features[name].feature.names) for name in TAGS}


def load_split(split: str, data_dir=None):
    """Loads a CoNLL-2003 split from the TFDS data folder as unbatched `(features, labels)` pairs.

    Args:
        split: str. "train", "validation" (TFDS' "dev") or "test".
        data_dir: str or None. TFDS data folder. Defaults to TFDS's default.

    Example:

    >>> dataset = load_split("validation")  # doctest: +SKIP
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    dataset = tfds.load("conll2003", split=TFDS_SPLITS[split], data_dir=data_dir, shuffle_files=False)
    return dataset.map(to_features_and_labels, num_parallel_calls=tf.data.AUTOTUNE)


SOURCE = DATASETS.register(
    "conll2003",
    DataSource(
        name="conll2003",
        description="CoNLL-2003 English news sentences: POS, chunk and NER tags per token (needs the user's "
                    "TFDS 'conll2003').",
        inputs={"sentence": InputSpec((), "string", description="the sentence's tokens joined by single spaces",
                                      feature_type="text")},
        labels={name: LabelSpec("tagging", len(tags), "-1", vocabulary=tags) for name, tags in TAGS.items()},
        splits=tuple(TFDS_SPLITS),
        load=load_split,
        how_to_get=HOW_TO_GET,
        read_class_names=tfds_class_names,
    ),
)
