"""`keras.applications` backbones cut into stages, so every sharing scheme and depth applies.

Each trunk builds the application once (a template, on the trunk's input
shape, with `include_top=False`) and cuts its layer graph at named stage-end
layers into consecutive stages. A block factory returns a fresh
`keras.Model` for its stage: the stage's layers cloned from their configs
under the block's name prefix (with the template's weights), on a new
`keras.Input` of the stage's input shape, so a scheme can make one shared
block or one copy per task, and each block's output is a stage feature map
(channels last) that heads and decoders can tap.

| trunk | stages (blocks) | stage-end layers | output stride of each stage |
|---|---|---|---|
| `mobilenet_v3_small` | 4 | expanded_conv_project_bn, expanded_conv_2_add, expanded_conv_7_add, last activation | 4, 8, 16, 32 |
| `efficientnet_b0` | 5 | block1a_project_bn, block2b_add, block3b_add, block5c_add, top_activation | 2, 4, 8, 16, 32 |
| `resnet50` | 4 | conv2_block3_out, conv3_block4_out, conv4_block6_out, conv5_block3_out | 4, 8, 16, 32 |

The stem turns the raw image into what the application expects, inside the
model: a cast/`Rescaling` (MobileNetV3: [-1, 1]; EfficientNet: its own
rescaling and normalization, in the first block; ResNet50: "caffe", RGB to
BGR and ImageNet means subtracted), an optional `Resizing`, and, for
ImageNet weights on a grayscale image, the channel repeated three times.
Images must be at least 32x32 (after `resize_to`).

`weights=None` (random initialization) is the default. `weights="imagenet"`
reads the weight file from the Keras cache (`$KERAS_HOME/models`, else
`~/.keras/models`); nothing is downloaded.

Example:

>>> from mtl_zoo.data.source import InputSpec
>>> from mtl_zoo.trunks.applications import mobilenet_v3_small
>>> trunk = mobilenet_v3_small({"image": InputSpec((32, 32, 3), "uint8", (0, 255))})
>>> trunk.num_blocks
4
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import List, Optional, Tuple

import keras

from mtl_zoo.errors import OptionError
from mtl_zoo.registry import TRUNKS
from mtl_zoo.trunks.base import Trunk
from mtl_zoo.trunks.vision import check_resize_to

MIN_SIZE = 32
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
WEIGHTS_URL = "https://storage.googleapis.com/"
FALLBACK_CACHE = os.path.join("/tmp", ".keras", "models")  # where Keras caches when the home is read-only


@dataclasses.dataclass(frozen=True)
class Application:
    """How to build and cut one `keras.applications` backbone.

    Args:
        constructor: str. Name of the `keras.applications` function.
        stage_ends: tuple. Names of the layers ending each stage; None for the
            application's output.
        preprocessing: str. "symmetric" (pixels to [-1, 1]), "raw" (float
            pixels in [0, 255]; the application rescales) or "caffe" (BGR,
            ImageNet means subtracted).
        weights_file: str. File name of the no-top ImageNet weights in the
            Keras cache.
        weights_origin: str. Where that file is downloaded from.
        options: tuple of (name, value). Extra constructor arguments.
    """

    constructor: str
    stage_ends: Tuple[Optional[str], ...]
    preprocessing: str
    weights_file: str
    weights_origin: str
    options: Tuple[Tuple[str, object], ...] = ()


APPLICATIONS = {
    "mobilenet_v3_small": Application(
        "MobileNetV3Small",
        ("expanded_conv_project_bn", "expanded_conv_2_add", "expanded_conv_7_add", None),
        "symmetric",
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
        WEIGHTS_URL + "tensorflow/keras-applications/mobilenet_v3/",
        (("include_preprocessing", False),),
    ),
    "efficientnet_b0": Application(
        "EfficientNetB0",
        ("block1a_project_bn", "block2b_add", "block3b_add", "block5c_add", "top_activation"),
        "raw",
        "efficientnetb0_notop.h5",
        WEIGHTS_URL + "keras-applications/",
    ),
    "resnet50": Application(
        "ResNet50",
        ("conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"),
        "caffe",
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        WEIGHTS_URL + "tensorflow/keras-applications/resnet/",
    ),
}


@keras.saving.register_keras_serializable(package="mtl_zoo")
class ReverseChannels(keras.layers.Layer):
    """Reverses the channel (last) axis: RGB <-> BGR.

    Example:

    >>> import numpy as np
    >>> ReverseChannels()(np.array([[1.0, 2.0, 3.0]])).numpy().tolist()
    [[3.0, 2.0, 1.0]]
    """

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


def cached_weights(trunk: str, application: Application) -> str:
    """Path of the application's ImageNet weight file in the Keras cache, or raises `OptionError`."""
    home = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    folders = [os.path.join(home, "models"), FALLBACK_CACHE]
    for folder in folders:
        path = os.path.join(folder, application.weights_file)
        if os.path.isfile(path):
            return path
    raise OptionError(
        "weights",
        f"{trunk} weights='imagenet' needs {application.weights_file} in the Keras cache ({folders[0]}); "
        f"download it on a machine with internet from {application.weights_origin}{application.weights_file} "
        f"and copy it there, or use weights=None. Received: weights='imagenet'",
    )


def _auto_named(operation) -> Optional[str]:
    """The snake-case class name when `operation` kept Keras's automatic name, else None."""
    base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type(operation).__name__).lower()
    base = re.sub(r"([a-z])([A-Z])", r"\1_\2", base).lower()
    return base if re.fullmatch(rf"{re.escape(base)}(_\d+)?", operation.name) else None


def _producer(tensor):
    operation, node_index, _ = tensor._keras_history
    return operation._inbound_nodes[node_index]


def _stage_nodes(start, end, stage_name: str) -> list:
    """The nodes computing `end` from `start`, in an order where inputs come first."""
    order, seen = [], set()

    def visit(tensor):
        if tensor is start:
            return
        node = _producer(tensor)
        if node.is_input:
            raise ValueError(
                f"Stage ending at '{stage_name}' reads tensors from before its start; choose stage ends "
                f"that no skip connection crosses. Received: stage end {stage_name!r}"
            )
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        order.append(node)

    visit(end)
    return order


class StageCutter:
    """Builds the application once and clones one stage of it into a fresh `keras.Model` per call.

    Args:
        trunk: str. Trunk name, for messages.
        application: `Application`.
        input_shape: tuple. (height, width, channels) the application takes.
        weights: str or None. None, or a weight file path.
    """

    def __init__(self, trunk: str, application: Application, input_shape, weights: Optional[str]):
        self.trunk, self.application = trunk, application
        self.input_shape, self.weights = tuple(input_shape), weights
        self._template = None

    @property
    def template(self) -> keras.Model:
        """The application built on `input_shape` (built on first use); stages are cloned from it."""
        if self._template is None:
            constructor = getattr(keras.applications, self.application.constructor)
            self._template = constructor(
                input_shape=self.input_shape, include_top=False, weights=self.weights,
                **dict(self.application.options),
            )
        return self._template

    def _boundaries(self):
        template = self.template
        ends = [template.output if name is None else template.get_layer(name).output
                for name in self.application.stage_ends]
        return [template.input] + ends

    def stage(self, index: int, prefix: str) -> keras.Model:
        """A fresh `keras.Model` named `prefix` computing stage `index` (0-based) from the stage before."""
        boundaries = self._boundaries()
        start, end = boundaries[index], boundaries[index + 1]
        stage_end = self.application.stage_ends[index] or "output"
        new_input = keras.Input(shape=tuple(start.shape[1:]), name=f"{prefix}_input")
        tensors = {id(start): new_input}
        counts = {}
        for node in _stage_nodes(start, end, stage_end):
            operation = node.operation
            base = _auto_named(operation)
            if base is None:
                name = f"{prefix}_{operation.name}"
            else:
                counts[base] = counts.get(base, 0) + 1
                name = f"{prefix}_{base}_{counts[base]}"
            clone = type(operation).from_config({**operation.get_config(), "name": name})
            args, kwargs = node.arguments.fill_in(tensors)
            outputs = clone(*args, **kwargs)
            if isinstance(operation, keras.layers.Layer) and operation.weights:
                clone.set_weights(operation.get_weights())
                if hasattr(clone, "finalize_state"):
                    clone.finalize_state()
            flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            for reference, computed in zip(node.outputs, flat):
                tensors[id(reference)] = computed
        return keras.Model(new_input, tensors[id(end)], name=prefix)


@dataclasses.dataclass(frozen=True)
class StageFactory:
    """The block factory of one stage: `factory(prefix)` returns a fresh `keras.Model` for the stage.

    Args:
        cutter: `StageCutter`. Holds the application the stage is cut from.
        index: int. The stage (0-based).
    """

    cutter: StageCutter
    index: int

    def __call__(self, prefix: str) -> keras.Model:
        return self.cutter.stage(self.index, prefix)


def _stem(name: str, spec, preprocessing: str, resize_to, to_rgb: bool):
    channels = 3 if to_rgb else spec.shape[-1]

    def stem(inputs):
        x = inputs[name]
        if preprocessing == "symmetric":
            x = keras.layers.Rescaling(1.0 / 127.5, -1.0, name=f"{name}_rescaling")(x)
        elif preprocessing == "caffe" and channels == 3:
            x = keras.layers.Rescaling(1.0, name=f"{name}_rescaling")(x)
        else:  # raw, or caffe on a one-channel image: the mean of the ImageNet means
            offset = -sum(IMAGENET_MEAN_RGB) / 3.0 if preprocessing == "caffe" else 0.0
            x = keras.layers.Rescaling(1.0, offset, name=f"{name}_rescaling")(x)
        if resize_to is not None:
            x = keras.layers.Resizing(*resize_to, name=f"{name}_resizing")(x)
        if to_rgb:
            x = keras.layers.Concatenate(name=f"{name}_to_rgb")([x, x, x])
        if preprocessing == "caffe" and channels == 3:
            x = ReverseChannels(name=f"{name}_to_bgr")(x)
            x = keras.layers.Rescaling(
                1.0, [-mean for mean in reversed(IMAGENET_MEAN_RGB)], name=f"{name}_mean_subtraction"
            )(x)
        return x

    return stem


def application_trunk(trunk: str, inputs: dict, weights: Optional[str] = None, resize_to=None) -> Trunk:
    """A registered `keras.applications` backbone as a trunk of stage blocks (see the module docs).

    Args:
        trunk: str. One of `APPLICATIONS`.
        inputs: dict. Input name -> `InputSpec`; exactly one image input of
            shape `(height, width, channels)`, raw uint8 pixels (or floats in
            [0, 255]).
        weights: str or None. None (random initialization) or "imagenet"
            (the weight file must be in the Keras cache). Defaults to None.
        resize_to: [height, width] or None. Resize images in the model
            before the first block. Defaults to None.

    Returns:
        A `Trunk` with one block per stage.
    """
    application = APPLICATIONS[trunk]
    if len(inputs) != 1 or len(next(iter(inputs.values())).shape) != 3:
        raise ValueError(
            f"{trunk} takes one image input of shape (height, width, channels). "
            f"Received: inputs={ {name: spec.shape for name, spec in inputs.items()} }"
        )
    name, spec = next(iter(inputs.items()))
    resize_to = check_resize_to(trunk, resize_to)
    height, width = resize_to or tuple(spec.shape[:2])
    if height is None or width is None or height < MIN_SIZE or width < MIN_SIZE:
        raise OptionError(
            "resize_to", f"{trunk} needs images of at least {MIN_SIZE}x{MIN_SIZE}; set resize_to: "
            f"[{MIN_SIZE}, {MIN_SIZE}] or larger. Received: image size {height}x{width}, resize_to={resize_to}"
        )
    if weights not in (None, "imagenet"):
        raise OptionError("weights", f"{trunk} takes weights None or 'imagenet'. Received: weights={weights!r}")
    channels = spec.shape[-1]
    if weights == "imagenet" and channels not in (1, 3):
        raise OptionError(
            "weights", f"{trunk} weights='imagenet' needs a 1- or 3-channel image. Received: channels={channels}"
        )
    weights_path = cached_weights(trunk, application) if weights == "imagenet" else None
    to_rgb = weights == "imagenet" and channels == 1
    cutter = StageCutter(trunk, application, (height, width, 3 if to_rgb else channels), weights_path)
    blocks = [StageFactory(cutter, index) for index in range(len(application.stage_ends))]
    return Trunk(blocks=blocks, stem=_stem(name, spec, application.preprocessing, resize_to, to_rgb))


@TRUNKS.register("mobilenet_v3_small")
def mobilenet_v3_small(inputs: dict, weights: Optional[str] = None, resize_to: Optional[List[int]] = None) -> Trunk:
    """MobileNetV3Small (Howard et al., 2019, https://arxiv.org/abs/1905.02244) in 4 stage blocks.

    Args:
        inputs: dict. One image input (see `application_trunk`).
        weights: str or None. None or "imagenet" (from the Keras cache).
            Defaults to None.
        resize_to: [height, width] or None. Resize in the model. Defaults to None.

    Returns:
        A `Trunk` of 4 blocks (output strides 4, 8, 16, 32).

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> mobilenet_v3_small({"image": InputSpec((8, 8, 1), "uint8")}, resize_to=[32, 32]).num_blocks
    4
    """
    return application_trunk("mobilenet_v3_small", inputs, weights, resize_to)


@TRUNKS.register("efficientnet_b0")
def efficientnet_b0(inputs: dict, weights: Optional[str] = None, resize_to: Optional[List[int]] = None) -> Trunk:
    """EfficientNetB0 (Tan & Le, 2019, https://arxiv.org/abs/1905.11946) in 5 stage blocks.

    Args:
        inputs: dict. One image input (see `application_trunk`).
        weights: str or None. None or "imagenet" (from the Keras cache).
            Defaults to None.
        resize_to: [height, width] or None. Resize in the model. Defaults to None.

    Returns:
        A `Trunk` of 5 blocks (output strides 2, 4, 8, 16, 32).

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> efficientnet_b0({"image": InputSpec((32, 32, 3), "uint8")}).num_blocks
    5
    """
    return application_trunk("efficientnet_b0", inputs, weights, resize_to)


@TRUNKS.register("resnet50")
def resnet50(inputs: dict, weights: Optional[str] = None, resize_to: Optional[List[int]] = None) -> Trunk:
    """ResNet50 (He et al., 2015, https://arxiv.org/abs/1512.03385) in 4 stage blocks (conv2..conv5).

    Args:
        inputs: dict. One image input (see `application_trunk`).
        weights: str or None. None or "imagenet" (from the Keras cache).
            Defaults to None.
        resize_to: [height, width] or None. Resize in the model. Defaults to None.

    Returns:
        A `Trunk` of 4 blocks (output strides 4, 8, 16, 32).

    Example:

    >>> from mtl_zoo.data.source import InputSpec
    >>> resnet50({"image": InputSpec((32, 32, 3), "uint8")}).num_blocks
    4
    """
    return application_trunk("resnet50", inputs, weights, resize_to)
