"""Lookup and vectorization layers whose adapted vocabulary is saved exactly, whatever the values.

Keras's `StringLookup`, `IntegerLookup` and `TextVectorization` save an
adapted vocabulary as a text file with one token per line, read back with
`splitlines()`: the blank value `""` (last among the rarest tokens) is lost,
and a token holding a line break (`\\r`, `\\x0b`, `\\x0c`, `\\x1c`-`\\x1e`,
`\\x85`, `\\u2028`, `\\u2029`) is cut in two, so every later index shifts in
the reloaded `.keras` model. `IntegerLookup` also drops its out-of-vocabulary
token (-1) from what it learns, so a real -1 lands in the OOV bucket, as
does a real "[UNK]" in `StringLookup`.

The layers here are those Keras layers with two changes:

- after adaptation, the vocabulary (and the IDF weights for "tf_idf") is
  put in the layer's config, as if it had been passed as `vocabulary=`
  (JSON keeps any string and any int64 exactly), and no vocabulary file is
  written or read;
- `ExactStringLookup` and `ExactIntegerLookup` learn every value of the data,
  and only then pick an OOV token that is not one of them (-1 or "[UNK]" when
  free). The OOV token only labels index 0: it is never looked up.

Strings are kept as Python objects, not numpy fixed-width strings, so a
trailing NUL character survives too. Models saved with Keras's own layers
(vocabulary in an asset file) load as before.

Example:

>>> import numpy as np
>>> from mtl_zoo.layers.lookups import ExactIntegerLookup, ExactStringLookup
>>> codes = ExactIntegerLookup()
>>> codes.adapt(np.array([-1, -1, 0, 7]))
>>> codes.get_config()["vocabulary"][1:], codes(np.array([-1, 0, 5])).numpy().tolist()
([-1, 7, 0], [1, 3, 0])
>>> cities = ExactStringLookup()
>>> cities.adapt(np.array(["oslo", "", "a\\rb"], dtype=object))
>>> cities.get_config()["vocabulary"]
['[UNK]', 'oslo', 'a\\rb', '']
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import tensorflow as tf

INT64_MIN = int(np.iinfo(np.int64).min)
INT64_MAX = int(np.iinfo(np.int64).max)


def table_tokens(lookup) -> list:
    """The learned tokens of a Keras lookup layer, by index, exactly as the table holds them.

    Unlike `get_vocabulary()`, strings keep a trailing NUL character.

    Args:
        lookup: an adapted `StringLookup` or `IntegerLookup` (not inverted).

    Returns:
        A list of `str` (decoded as UTF-8) or `int`, without mask and OOV tokens.
    """
    if int(lookup.lookup_table.size()) == 0:
        return []
    keys, indices = lookup.lookup_table.export()
    keys = keys.numpy()[np.argsort(indices.numpy(), kind="stable")]
    if lookup.vocabulary_dtype == "string":
        return [key.decode("utf-8") for key in keys]
    return [int(key) for key in keys]


def unused_token(tokens: list, candidates):
    """The first of `candidates` (an iterable, possibly endless) that is not in `tokens`."""
    used = set(tokens)
    return next(candidate for candidate in candidates if candidate not in used)


def _string_candidates():
    return itertools.chain(["[UNK]"], (f"[UNK {number}]" for number in itertools.count(1)))


def _integer_candidates():
    return itertools.chain([-1, INT64_MIN, INT64_MAX], range(INT64_MIN + 1, INT64_MAX))


def _as_objects(vocabulary):
    """A list or tuple of strings as a numpy object array (numpy's "U" dtype drops trailing NULs)."""
    if isinstance(vocabulary, (list, tuple)):
        return np.array(list(vocabulary), dtype=object)
    return vocabulary


class _VocabularyInConfig:
    """Adaptation keeps every data value and puts the vocabulary in the config (see the module doc)."""

    def _oov_candidates(self):
        raise NotImplementedError

    def finalize_state(self):
        if self._has_input_vocabulary or self.invert:
            super().finalize_state()
            return
        default_oov_token = self.oov_token
        self.oov_token = None  # adaptation drops the OOV token from the counts; with None it drops nothing
        try:
            super().finalize_state()
        finally:
            self.oov_token = default_oov_token
        tokens = table_tokens(self)
        if not tokens:  # nothing learned (no data): the layer stays as Keras leaves it
            return
        self.oov_token = unused_token(tokens, self._oov_candidates())
        specials = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        self.input_vocabulary = specials + tokens
        if self.output_mode == "tf_idf":
            self.input_idf_weights = self.idf_weights_const.numpy()


@keras.saving.register_keras_serializable(package="mtl_zoo")
class ExactStringLookup(_VocabularyInConfig, keras.layers.StringLookup):
    """`keras.layers.StringLookup` whose adapted vocabulary is in its config and takes any string.

    Every string of the data is a vocabulary entry ("", whitespace, line
    breaks, "[UNK]" ...); the OOV token is "[UNK]" unless the data holds it.
    Same arguments as `keras.layers.StringLookup` (`num_oov_indices=1`,
    `invert=False` are the settings the package uses).

    Example:

    >>> import numpy as np
    >>> layer = ExactStringLookup()
    >>> layer.adapt(np.array(["[UNK]", "b", "b"], dtype=object))
    >>> layer.get_vocabulary(), layer(np.array(["[UNK]", "c"], dtype=object)).numpy().tolist()
    (['[UNK 1]', 'b', '[UNK]'], [2, 0])
    """

    def _oov_candidates(self):
        return _string_candidates()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        super().set_vocabulary(_as_objects(vocabulary), idf_weights=idf_weights)

    def _tensor_vocab_to_numpy(self, vocabulary):
        return np.array([tf.compat.as_text(token, self.encoding) for token in vocabulary.numpy()], dtype=object)


@keras.saving.register_keras_serializable(package="mtl_zoo")
class ExactIntegerLookup(_VocabularyInConfig, keras.layers.IntegerLookup):
    """`keras.layers.IntegerLookup` whose adapted vocabulary is in its config; -1 and 0 are ordinary values.

    The OOV token (the label of index 0, never looked up) is -1 unless the
    data holds -1, else the int64 minimum or maximum, else the smallest
    int64 value the data does not hold. Same arguments as
    `keras.layers.IntegerLookup`.

    Example:

    >>> import numpy as np
    >>> layer = ExactIntegerLookup()
    >>> layer.adapt(np.array([-1, 3, 3]))
    >>> layer.get_vocabulary()[0] == np.iinfo(np.int64).min, layer(np.array([3, -1, 4])).numpy().tolist()
    (True, [1, 2, 0])
    """

    def _oov_candidates(self):
        return _integer_candidates()


@keras.saving.register_keras_serializable(package="mtl_zoo")
class ExactTextVectorization(keras.layers.TextVectorization):
    """`keras.layers.TextVectorization` whose adapted vocabulary (and IDF weights) are in its config.

    Tokens with any character (line breaks split by "character" n-grams,
    `\\x1c` or `\\u2028` inside a word) are saved exactly. The padding token
    "" and the OOV token "[UNK]" are Keras's; "[UNK]" appearing as a token of
    the data (only possible with `standardize=None`) shares the OOV index.
    Same arguments as `keras.layers.TextVectorization`.

    Example:

    >>> import numpy as np
    >>> layer = ExactTextVectorization(split="character", output_mode="int", output_sequence_length=3)
    >>> layer.adapt(np.array(["a\\rb", "b"], dtype=object))
    >>> layer.get_config()["vocabulary"]
    ['', '[UNK]', 'b', 'a', '\\r']
    """

    def __init__(self, *args, **kwargs):
        if "vocabulary" in kwargs:
            kwargs["vocabulary"] = _as_objects(kwargs["vocabulary"])
        super().__init__(*args, **kwargs)

    def finalize_state(self):
        super().finalize_state()
        lookup = self._lookup_layer
        if self._has_input_vocabulary:
            return
        tokens = table_tokens(lookup)
        if not tokens:
            return
        specials = [lookup.mask_token] * lookup._oov_start_index() + [lookup.oov_token] * lookup.num_oov_indices
        lookup.input_vocabulary = specials + tokens
        if lookup.output_mode == "tf_idf":
            lookup.input_idf_weights = lookup.idf_weights_const.numpy()
