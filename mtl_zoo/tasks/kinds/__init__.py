"""Task kinds: one module per kind, each registering a `TaskKind` in `TASK_KINDS`.

Sentence-level kinds: `classification`, `binary`, `multilabel`,
`regression`. Per-token: `tagging`. Boxes: `bbox`. Per-pixel:
`segmentation` and `dense_regression`. A new kind is one module that
registers a `TaskKind` (subclass it to change the head, the label layout or
the metrics) plus its import here or in a plugin. `label_column` holds the
rules by which one column of a file becomes a kind's labels
(`TaskKind.column`).
"""

from mtl_zoo.tasks.kinds import base
from mtl_zoo.tasks.kinds import classification
from mtl_zoo.tasks.kinds import binary
from mtl_zoo.tasks.kinds import multilabel
from mtl_zoo.tasks.kinds import regression
from mtl_zoo.tasks.kinds import tagging
from mtl_zoo.tasks.kinds import bbox
from mtl_zoo.tasks.kinds import segmentation
from mtl_zoo.tasks.kinds import dense_regression

__all__ = ["base", "classification", "binary", "multilabel", "regression", "tagging", "bbox", "segmentation", "dense_regression"]
