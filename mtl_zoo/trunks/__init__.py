"""Trunks: feature extractors cut into blocks (see `mtl_zoo.trunks.base`).

`vision_conv` for images, `mlp` for a numeric vector, `features` for raw
tabular columns (numeric, categorical, id, text) preprocessed inside the model,
`text` for raw strings through Transformer or BiLSTM encoder blocks.
"""

from mtl_zoo.trunks import features, mlp, text, vision
from mtl_zoo.trunks.base import Trunk

__all__ = ["Trunk", "features", "mlp", "text", "vision"]
