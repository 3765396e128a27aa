"""Keras layers the zoo defines, registered under the package `mtl_zoo`.

`auxiliary_loss.py` (loss terms that join the objective by name),
`lookups.py` (exact string, integer and text lookups whose vocabularies
round-trip), `fill_missing.py`, `numeric_embeddings.py` and `embedding_bag.py`
(the `features` trunk's numeric and text columns), `experts.py` (expert banks and
their mixing, wired by the mixture-of-experts schemes), `text.py` (subword
embeddings, masked pooling, and the token embedding and Transformer block the
`text` trunk used before `keras_hub`'s, kept so older files load), `wide.py` (the
wide path's crossed columns). Importing this package registers them
with Keras.
"""

from mtl_zoo.layers import (auxiliary_loss, embedding_bag, experts, fill_missing, lookups, numeric_embeddings, text,
                            wide)

__all__ = ["auxiliary_loss", "embedding_bag", "experts", "fill_missing", "lookups", "numeric_embeddings", "text",
           "wide"]
