"""Keras layers the zoo defines, registered under the package `mtl_zoo`.

`auxiliary_loss.py` (loss terms that join the objective by name),
`lookups.py` (exact string, integer and text lookups whose vocabularies
round-trip). Importing this package registers them with Keras.
"""

from mtl_zoo.layers import auxiliary_loss, lookups

__all__ = ["auxiliary_loss", "lookups"]
