"""Names derived from a table's column names, valid where Keras and TensorFlow need them.

A column may be named anything a file allows (`class`, `my col`, `größe`,
`2nd`). The `.keras` model takes it under that name; the layers built for
it and the SavedModel's signature arguments need other spellings:

- `layer_name(column)`: a Keras layer name prefix that is also a valid
  TensorFlow name scope (letters, digits and `_ . > -`); a name that is
  not gets its characters replaced and a short hash of the original, so two
  columns never share layers.
- `signature_name(column)`: a lower-case Python identifier that TensorFlow
  takes as a signature argument (TensorFlow lower-cases the arguments of a
  SavedModel's signatures, so `AwayTeam` is served as `awayteam`;
  `mtl_zoo.artifacts.saved_model.serving_input_names` makes them unique among a model's
  inputs, so `class` and `Class` become `class_` and `class_2`).

Example:

>>> layer_name("age"), layer_name("my col")
('age', 'my_col_96478f')
>>> signature_name("class"), signature_name("größe")
('class_', 'grosse')
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata

# What `tf.name_scope` takes (Keras opens one per layer); "/" is left out, Keras refuses it in layer names.
_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.>-]+$")


def _ascii_words(name: str) -> str:
    """`name` in ASCII letters, digits and single underscores ("größe" -> "grosse", "my col" -> "my_col")."""
    text = unicodedata.normalize("NFKD", name.replace("ß", "ss"))
    text = "".join(character for character in text if character.isascii())
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def layer_name(name: str) -> str:
    """The prefix of the Keras layers built for column `name`.

    Args:
        name: str. The column (model input) name.

    Example:

    >>> layer_name("x.y"), layer_name("größe")
    ('x.y', 'grosse_93c6a3')
    """
    if _SCOPE_NAME.match(name) and not name.startswith(("-", ".", ">")):
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:6]
    return f"{_ascii_words(name) or 'column'}_{digest}"


def is_signature_name(name: str) -> bool:
    """Whether a SavedModel signature takes `name` unchanged: a lower-case ASCII identifier, no keyword, no leading "_"."""
    return (name.isascii() and name.isidentifier() and name == name.lower() and not keyword.iskeyword(name)
            and not name.startswith("_"))


def signature_name(name: str) -> str:
    """`name` spelled as a signature argument (before making it unique among a model's inputs).

    Example:

    >>> [signature_name(name) for name in ["age", "class", "my col", "a-b", "x.y", "2nd", "größe", "?", "AwayTeam"]]
    ['age', 'class_', 'my_col', 'a_b', 'x_y', 'input_2nd', 'grosse', 'input', 'awayteam']
    """
    if is_signature_name(name):
        return name
    text = _ascii_words(name).lower()
    if not text:
        return "input"
    if text[0].isdigit():
        text = "input_" + text
    return text + "_" if keyword.iskeyword(text) else text
