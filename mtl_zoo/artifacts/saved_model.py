"""SavedModel export with one serving signature per task.

The exported SavedModel has a `serving_default` signature returning every
output and one signature per output (named after the task, or after an
output without a loss such as gate weights) returning that output only.
Loading it needs TensorFlow only, not mtl_zoo.

Signature arguments are named as the model's inputs when the name is a
plain identifier (`age`, `user_id`); any other column name (`class`,
`my col`, `größe`, `2nd`) is spelled as one there (`class_`, `my_col`,
`grosse`, `input_2nd`), deterministically and without collisions.
`serving_input_names(model)` maps each model input to its signature name;
the model card records it (`mtl_zoo.artifacts.writer.model_card`).

Each endpoint is also an attribute of the loaded object, called with the
same keyword arguments (`served.left_digit(image=images)`). TensorFlow
converts a NumPy array passed to a signature (`served.signatures[...]`) to
the signature's dtype before the model runs, with loss where it must
(float32 images in [0, 1] become uint8 zeros and ones), and nothing in a
SavedModel can stop that; the attribute endpoints refuse such an array
instead, for integer inputs narrower than int64 (`lossy_dtypes`), naming
the input, the dtype it takes and the dtype received. A `tf.Tensor` of
another dtype is refused by both.

Example:

>>> import numpy as np, tensorflow as tf
>>> from mtl_zoo.artifacts.saved_model import export_saved_model
>>> export_saved_model(model, "/tmp/exported")  # doctest: +SKIP
>>> served = tf.saved_model.load("/tmp/exported")  # doctest: +SKIP
>>> served.signatures["left_digit"](image=tf.zeros((1, 12, 20, 1), "uint8"))  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mtl_zoo.utils.names import is_signature_name, signature_name

# The dtypes NumPy arrays usually come in (each refusal is one more trace per endpoint, so the rare ones are left out).
_NUMPY_DTYPES = (tf.float32, tf.float64, tf.int32, tf.int64)


def lossy_dtypes(dtype) -> list:
    """The usual NumPy-array dtypes that `dtype` cannot hold without loss, for integer inputs narrower than int64.

    An int64 input (a categorical or id column) is left unguarded: a table
    may have hundreds of them, and whole numbers sent as floats convert
    exactly.

    Example:

    >>> [item.name for item in lossy_dtypes(tf.uint8)], lossy_dtypes(tf.int64), lossy_dtypes(tf.float32)
    (['float32', 'float64', 'int32', 'int64'], [], [])
    """
    import numpy as np

    dtype = tf.as_dtype(dtype)
    if not dtype.is_integer or dtype.size >= 8:
        return []
    return [item for item in _NUMPY_DTYPES
            if item != dtype and not np.can_cast(item.as_numpy_dtype, dtype.as_numpy_dtype, casting="safe")]


def serving_input_names(model) -> dict:
    """Model input name -> the name of that argument in the SavedModel's signatures.

    Names that are already valid keep themselves; the others take
    `signature_name`, with `_2`, `_3`, ... appended in sorted order of the
    original names when two would meet.

    Args:
        model: `MultiTaskModel` (or a Keras model). Its inputs.

    Example:

    >>> serving_input_names(model)  # doctest: +SKIP
    {'class': 'class_', 'island': 'island', 'my col': 'my_col'}
    """
    names = [tensor.name for tensor in _network(model).inputs]
    mapping = {name: name for name in names if is_signature_name(name)}
    used = set(mapping.values())
    for name in sorted(name for name in names if name not in mapping):
        base = candidate = signature_name(name)
        counter = 1
        while candidate in used:
            counter += 1
            candidate = f"{base.rstrip('_')}_{counter}"
        mapping[name] = candidate
        used.add(candidate)
    return {name: mapping[name] for name in names}


def _network(model):
    return getattr(model, "network", model)


def input_signature(model) -> list:
    """Returns one `tf.TensorSpec` per model input (batch axis unknown), named as the signatures take it."""
    names = serving_input_names(model)
    return [
        tf.TensorSpec(shape=tensor.shape, dtype=tensor.dtype, name=names[tensor.name])
        for tensor in _network(model).inputs
    ]


def _serving_function(model, specs):
    """A `tf.function` of keyword arguments (the signature names): the model's outputs.

    Traced for the model's dtypes (the signature) and, for each integer
    input narrower than int64, for the dtypes it cannot hold without loss
    (`lossy_dtypes`),
    where it only fails with a message naming the input, the dtype it takes
    and the dtype received.
    """
    names = dict(zip([spec.name for spec in specs], [tensor.name for tensor in _network(model).inputs]))

    def serve(**tensors):
        for spec in specs:
            received = tensors[spec.name].dtype
            if received != spec.dtype:
                message = (f"input {spec.name} takes {spec.dtype.name} values; received {received.name}, which "
                           f"it would cast with loss: convert the values to {spec.dtype.name} first (e.g. "
                           f"images as uint8 0-255). Received: dtype={received.name}")
                return _failure(message, model, tensors[spec.name])
        outputs = model({names[key]: value for key, value in tensors.items()}, training=False)
        return dict(outputs)

    return _traced(tf.function(serve), specs)


def _task_function(serve_all, specs, task_name: str):
    """One task's endpoint: calls the traced `serve_all` and keeps `task_name`'s output.

    The model is traced once for every endpoint: each task's graph is a call
    of the whole model's function (TensorFlow inlines it when the signature
    runs and prunes the outputs it does not return).
    """

    def serve(**tensors):
        return {task_name: serve_all(**tensors)[task_name]}

    return _traced(tf.function(serve), specs)


def _traced(function, specs):
    """`function` traced for the signature's dtypes and each lossy dtype of one integer input (`lossy_dtypes`)."""
    function.get_concrete_function(**{spec.name: spec for spec in specs})
    for spec in specs:
        for dtype in lossy_dtypes(spec.dtype):
            wrong = {other.name: other for other in specs}
            wrong[spec.name] = tf.TensorSpec(spec.shape, dtype, name=spec.name)
            function.get_concrete_function(**wrong)
    return function


def _failure(message: str, model, tensor):
    """Outputs of the right structure that are never returned: an assertion that always fails runs first."""
    check = tf.debugging.Assert(tf.constant(False), [tf.constant(message)])
    batch = tf.shape(tensor)[0]
    outputs = {}
    for name, output in _network(model).output.items():
        shape = tf.concat([[batch], tf.constant([size or 1 for size in output.shape[1:]], tf.int32)], 0)
        with tf.control_dependencies([check]):
            outputs[name] = tf.zeros(shape, output.dtype)
    return outputs


def export_saved_model(model, path: str) -> str:
    """Writes `model` as a TensorFlow SavedModel with per-task signatures.

    Args:
        model: `MultiTaskModel`. The trained model.
        path: str. Output directory (created; must not hold files that
            matter: it is overwritten).

    Returns:
        The path written.
    """
    specs = input_signature(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    serve_all = _serving_function(model, specs)
    archive.add_endpoint("serving_default", serve_all)
    for name in model.output_keys:
        archive.add_endpoint(name, _task_function(serve_all, specs, name))
    archive.write_out(str(path), verbose=False)
    return str(path)
