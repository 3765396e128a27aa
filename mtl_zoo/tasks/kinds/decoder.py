"""The per-pixel decoder: from a trunk's spatial feature maps back to the label resolution.

Used by the per-pixel kinds (`segmentation`, `dense_regression`). It reads
the rank-4 `(batch, height, width, channels)` tensors among the task's
feature maps (the trunk stem's output, then its block outputs along the
task's path, shallow to deep): it starts from the deepest map, and for every
shallower map it upsamples to that map's size (bilinear `Resizing`),
concatenates the map (a skip connection, U-Net style; maps that are not
floats, such as a raw uint8 image, are not concatenated) and applies a 3x3
ReLU convolution. It then resizes to the output size and applies a 1x1
convolution with the task's units and activation.

Output size: `task.output_size` if the task sets it, else the size of the
shallowest spatial map, i.e. the stem's output: the model's image input, so
labels have the image's height and width. Decoder widths: `task.head_units`,
one per convolution from the deepest stage up (the last width repeats),
16 when the task names none.

Example:

>>> import keras
>>> from mtl_zoo.tasks.task import Task
>>> image = keras.Input((8, 8, 1))
>>> stage = keras.layers.MaxPooling2D()(keras.layers.Conv2D(4, 3, padding="same")(image))
>>> tuple(build_decoder(Task("mask", "segmentation", classes=3), stage, [image, stage], "softmax").shape)
(None, 8, 8, 3)
"""

from __future__ import annotations

from mtl_zoo.tasks.kinds.base import FeatureMapError

DEFAULT_DECODER_WIDTH = 16


def build_decoder(task, features, feature_maps, activation: str):
    """Applies a fresh decoder for `task` and returns its `(batch, height, width, units)` output.

    Args:
        task: `Task`. A per-pixel task (units, `head_units`, `output_size`).
        features: Keras tensor. The task's final features.
        feature_maps: list of Keras tensors or None. Shallow to deep.
        activation: str. Activation of the output convolution.

    Raises:
        FeatureMapError: no spatial map, or an unknown output size.
    """
    import keras

    spatial = [tensor for tensor in (feature_maps if feature_maps is not None else [features])
               if len(tensor.shape) == 4]
    if not spatial:
        shapes = [tuple(tensor.shape) for tensor in (feature_maps or [features])]
        raise FeatureMapError(
            f"Task '{task.name}' of kind '{task.kind}' needs a spatial feature map (batch, height, width, "
            f"channels); its features have shapes {shapes}."
        )
    size = tuple(task.output_size) if task.output_size is not None else tuple(spatial[0].shape[1:3])
    if any(side is None for side in size):
        raise FeatureMapError(f"Task '{task.name}': the image size is not fixed, so the decoder cannot tell its "
                              f"output size; set the task's output_size to [height, width].")
    widths = list(task.head_units) or [DEFAULT_DECODER_WIDTH]
    skips = [tensor for tensor in spatial[:-1] if "float" in str(tensor.dtype)]
    x = spatial[-1]
    for index, skip in enumerate(reversed(skips), start=1):
        width = widths[min(index - 1, len(widths) - 1)]
        if tuple(x.shape[1:3]) != tuple(skip.shape[1:3]):
            x = keras.layers.Resizing(*skip.shape[1:3], interpolation="bilinear",
                                      name=f"{task.name}_decoder_upsample_{index}")(x)
        x = keras.layers.Concatenate(name=f"{task.name}_decoder_skip_{index}")([x, skip])
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                name=f"{task.name}_decoder_conv_{index}")(x)
    if not skips:
        x = keras.layers.Conv2D(widths[0], 3, padding="same", activation="relu",
                                name=f"{task.name}_decoder_conv_1")(x)
    if tuple(x.shape[1:3]) != size:
        x = keras.layers.Resizing(*size, interpolation="bilinear", name=f"{task.name}_decoder_resize")(x)
    return keras.layers.Conv2D(task.units, 1, activation=activation, dtype="float32", name=task.name)(x)
