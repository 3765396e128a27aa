"""mtl_zoo: multi-task learning models for Keras 3.

One model, several related tasks, parameters shared between them. Build a
model from a trunk, a sharing scheme and a list of tasks, train it with plain
`model.fit`, and export it with one serving signature per task.

`import mtl_zoo` is light: TensorFlow and Keras are imported the first time a
public name (`mtl_zoo.Task`, `mtl_zoo.build_model`, ...) is used, which also
registers every built-in component and Keras class. Submodules load on first
use too (`mtl_zoo.data`, `mtl_zoo.trunks.vision`, `mtl_zoo.artifacts.saved_model`, ...).

Example:

>>> import mtl_zoo
>>> from mtl_zoo import Task, build_model, InputSpec
>>> inputs = {"image": InputSpec((12, 20, 1))}
>>> trunk = mtl_zoo.trunks.vision.vision_conv(inputs, filters=[8], dense_units=[16])
>>> model = build_model(inputs, trunk, [Task("left_digit", "classification", 10),
...                                     Task("right_digit", "classification", 10)])
"""

import importlib
import importlib.util

__version__ = "0.1.0"

# Public name -> module that defines it; imported on first use (PEP 562).
_PUBLIC_NAMES = {
    "Balancer": "mtl_zoo.balancers",
    "DataSource": "mtl_zoo.data.source",
    "FixedWeights": "mtl_zoo.balancers",
    "InputSpec": "mtl_zoo.data.source",
    "LabelSpec": "mtl_zoo.data.source",
    "MultiTaskModel": "mtl_zoo.models.multi_task_model",
    "Task": "mtl_zoo.tasks.task",
    "WidePath": "mtl_zoo.models.wide_path",
    "build_model": "mtl_zoo.models.builders",
    "build_network": "mtl_zoo.models.builders",
    "export_saved_model": "mtl_zoo.artifacts.saved_model",
    "load_model": "mtl_zoo.artifacts.folder",
}

# Importing these registers every built-in component and Keras class.
_LIBRARY_MODULES = (
    "mtl_zoo.tasks.task",
    "mtl_zoo.layers",
    "mtl_zoo.balancers",
    "mtl_zoo.optimizers.task_learning_rates",
    "mtl_zoo.trunks",
    "mtl_zoo.sharing",
    "mtl_zoo.models.builders",
    "mtl_zoo.models.multi_task_model",
    "mtl_zoo.data",
)

__all__ = sorted([*_PUBLIC_NAMES, "balancers", "data", "sharing", "trunks"])


def _import_library() -> None:
    """Imports the modules that register the built-in components and Keras classes."""
    for module in _LIBRARY_MODULES:
        importlib.import_module(module)


def __getattr__(name):
    if name in _PUBLIC_NAMES:
        _import_library()
        value = getattr(importlib.import_module(_PUBLIC_NAMES[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
