"""Trunks: feature extractors cut into blocks (see `mtl_zoo.trunks.base`).

`vision_conv` (a small CNN) and `vision_resnet` (residual stages) for images,
the `keras.applications` backbones `mobilenet_v3_small`, `efficientnet_b0`
and `resnet50` cut into stage blocks, `mlp` for a numeric vector, `features` for raw
tabular columns (numeric, categorical, id, text) preprocessed inside the model,
`text` for raw strings through Transformer or BiLSTM encoder blocks.
"""

from mtl_zoo.trunks import applications, features, mlp, resnet, text, vision
from mtl_zoo.trunks.base import Trunk

__all__ = ["Trunk", "applications", "features", "mlp", "resnet", "text", "vision"]
