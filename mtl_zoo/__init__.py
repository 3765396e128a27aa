"""mtl_zoo: multi-task learning models for Keras 3.

One model, several related tasks, parameters shared between them. Build a
model from a trunk, a sharing scheme and a list of tasks, train it with plain
`model.fit`, and export it with one serving signature per task.

Example:

>>> import mtl_zoo
>>> from mtl_zoo import Task, build_model, InputSpec
>>> inputs = {"image": InputSpec((12, 20, 1))}
>>> trunk = mtl_zoo.trunks.vision.vision_conv(inputs, filters=[8], dense_units=[16])
>>> model = build_model(inputs, trunk, [Task("left_digit", "classification", 10),
...                                     Task("right_digit", "classification", 10)])
"""

from mtl_zoo import balancing, data, sharing, trunks
from mtl_zoo.balancing import Balancer, FixedWeights
from mtl_zoo.builders import build_model, build_network
from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.model import MultiTaskModel
from mtl_zoo.tasks import Task

__version__ = "0.1.0"

__all__ = [
    "Balancer",
    "DataSource",
    "FixedWeights",
    "InputSpec",
    "LabelSpec",
    "MultiTaskModel",
    "Task",
    "balancing",
    "build_model",
    "build_network",
    "data",
    "sharing",
    "trunks",
]
