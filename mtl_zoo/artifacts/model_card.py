"""`MODEL_CARD.md`: how to call a trained artifact's SavedModel, written beside `metrics.json`.

The card says which signatures exist (`serving_default` with every output,
one per output returning that output only), what each input takes (its
signature name where that differs from the column, dtype, shape per
example, how a missing value is sent), what each output means (which class
a sigmoid probability is of, the class names in index order), and gives one
example request built from a real row: a JSON body for TensorFlow Serving's
REST API and the same call in Python with `tf.saved_model.load`.

`example_request(card)` reads the JSON body back, so a test (or a client)
can send it.

Example:

>>> from mtl_zoo.artifacts.model_card import missing_value
>>> missing_value({"dtype": "float32", "feature_type": "numeric"})
'`NaN`: the model fills in the training mean and marks the value missing'
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

# An example instance with more values than this is described, not written out.
MAX_EXAMPLE_VALUES = 4096
_JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.DOTALL | re.MULTILINE)


def missing_value(card: dict) -> str:
    """How a missing value of one input is sent, as the model's preprocessing treats it.

    Args:
        card: dict. The input's model card entry (`dtype`, `feature_type`).

    Example:

    >>> missing_value({"dtype": "string", "feature_type": "categorical"})
    '`""` (an empty cell in the training file); a value not seen in training falls into the out-of-vocabulary bucket'
    """
    feature_type, dtype = card.get("feature_type"), card.get("dtype")
    if feature_type == "numeric":
        return "`NaN`: the model fills in the training mean and marks the value missing"
    if feature_type in ("categorical", "id") and dtype == "string":
        return ('`""` (an empty cell in the training file); a value not seen in training falls into the '
                "out-of-vocabulary bucket")
    if feature_type in ("categorical", "id"):
        return ("none: send an integer in every row; one not seen in training falls into the "
                "out-of-vocabulary bucket")
    if feature_type == "text":
        return '`""` (no words)'
    if card.get("value_range") is not None:
        low, high = card["value_range"]
        return f"none: every value is required, in [{low}, {high}]"
    return "none: every value is required"


def class_names(card: dict):
    """An output's class names in index order (its label `vocabulary`, else the task's `class_names`), or None."""
    return card.get("vocabulary") or card.get("class_names")


def output_meaning(card: dict) -> str:
    """What one output's values are, in a sentence.

    Example:

    >>> output_meaning({"kind": "binary", "activation": "sigmoid", "shape": [1], "vocabulary": ["no", "yes"]})
    'the probability of class `yes` (the positive class, vocabulary[1]); 1 minus it is that of `no`'
    """
    names, kind, activation = class_names(card), card.get("kind"), card.get("activation")
    listed = ", ".join(f"`{name}`" for name in names) if names else None
    if kind == "binary":
        if names:
            return (f"the probability of class `{names[1]}` (the positive class, vocabulary[1]); 1 minus it is "
                    f"that of `{names[0]}`")
        return "the probability that the label is 1 (the positive class); 1 minus it, that it is 0"
    if activation == "softmax":
        where = {"tagging": " per token", "segmentation": " per pixel"}.get(kind, "")
        order = f": {listed}" if listed else " 0, 1, ..."
        return f"class probabilities{where}, summing to 1, in index order{order}; the predicted class is the largest"
    if activation == "sigmoid":
        order = f", in order: {listed}" if listed else ""
        return f"one independent probability per unit{order}"
    return "values in the units of the label"


def _json_scalar(value, dtype: str):
    if dtype == "string":
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if dtype.startswith("float") or dtype.startswith("bfloat"):
        return float(str(np.float32(value)))  # the shortest decimal that reads back as the same float32
    if dtype == "bool":
        return bool(value)
    return int(value)


def _json_value(array, dtype: str):
    if not isinstance(array, np.ndarray):
        return _json_scalar(array, dtype)
    if array.ndim == 0:
        return _json_scalar(array.item(), dtype)
    return [_json_value(item, dtype) for item in array]


def _usable(array: np.ndarray, dtype: str) -> bool:
    """Whether one example's value can be written in JSON as is (finite numbers, UTF-8 strings)."""
    if dtype == "string":
        try:
            [value.decode("utf-8") for value in np.asarray(array, dtype=object).ravel() if isinstance(value, bytes)]
        except UnicodeDecodeError:
            return False
        return True
    if np.issubdtype(np.asarray(array).dtype, np.floating):
        return bool(np.isfinite(array).all())
    return True


def example_instance(batch: dict, dtypes: dict, signature_names: dict):
    """One JSON-ready instance (signature name -> value) from a feature batch, or None if it is too large.

    Takes the first row whose values are all finite and valid UTF-8 (else
    the first row).

    Args:
        batch: dict. Model input name -> batched values (tensors or arrays).
        dtypes: dict. Model input name -> dtype name.
        signature_names: dict. Model input name -> signature argument name.

    Example:

    >>> example_instance({"age": np.array([np.nan, 31.5], "float32")}, {"age": "float32"}, {"age": "age"})
    {'age': 31.5}
    """
    arrays = {name: np.asarray(value) for name, value in batch.items()}
    if sum(int(np.prod(array.shape[1:])) for array in arrays.values()) > MAX_EXAMPLE_VALUES:
        return None
    size = len(next(iter(arrays.values())))
    chosen = next((row for row in range(size)
                   if all(_usable(arrays[name][row], dtypes[name]) for name in arrays)), 0)
    return {signature_names[name]: _json_value(arrays[name][chosen], dtypes[name]) for name in arrays}


def _python_value(value, card: dict) -> str:
    dtype = card["dtype"]
    if value is None:
        shape = ", ".join(str(size) for size in card["shape"])
        return f"tf.zeros([1, {shape}], tf.{dtype})"
    literal = "float(\"nan\")" if isinstance(value, float) and value != value else json.dumps(value, ensure_ascii=False)
    return f"tf.constant([{literal}], tf.{dtype})"


def request_body(instance: dict, signature: str = "serving_default") -> str:
    """A TensorFlow Serving REST request body (row format) for one instance, one line per instance."""
    return ("{\n" f'  "signature_name": {json.dumps(signature)},\n' '  "instances": [\n    '
            + json.dumps(instance, ensure_ascii=False) + "\n  ]\n}")


def render_model_card(name: str, description: str, inputs: dict, outputs: dict, signature_names: dict,
                      output_keys: list, instance, test_metrics: dict) -> str:
    """The text of `MODEL_CARD.md`.

    Args:
        name: str. The recipe's name.
        description: str. What the model predicts (the recipe's description) or "".
        inputs: dict. Model input name -> model card entry (`metrics.json` field `inputs`).
        outputs: dict. Task -> model card entry (`metrics.json` field `outputs`).
        signature_names: dict. Model input name -> signature argument name.
        output_keys: list of str. Every output of the model (tasks, then outputs without a loss).
        instance: dict or None. An example instance (`example_instance`), None if too large to show.
        test_metrics: dict. Task -> {metric: value} on the test split.
    """
    lines = [f"# {name}", ""]
    if description:
        lines += [description, ""]
    lines += [
        "Trained with `mtl-zoo train`; `metrics.json` holds the same card as data, with the test metrics, the "
        "training history and the resolved recipe.",
        "",
        "## Signatures",
        "",
        "`saved_model/` loads with TensorFlow alone (`tf.saved_model.load`). Every signature takes every input "
        "below, with a batch axis first, and returns a dict of outputs:",
        "",
        f"- `serving_default`: every output ({', '.join(f'`{key}`' for key in output_keys)})",
    ]
    lines += [f"- `{key}`: `{key}` only" for key in output_keys]
    lines += ["", "## Inputs", "",
              "| input | signature name | dtype | shape per example | a missing value is sent as | description |",
              "|---|---|---|---|---|---|"]
    for input_name, card in inputs.items():
        signature = signature_names.get(input_name, input_name)
        shape = "[" + ", ".join(str(size) for size in card["shape"]) + "]" if card["shape"] else "scalar"
        description_text = card.get("description") or card.get("feature_type") or ""
        lines.append(f"| `{input_name}` | `{signature}` | {card['dtype']} | {shape} | {missing_value(card)} | "
                     f"{description_text.replace('|', '/')} |")
    renamed = {column: signature for column, signature in signature_names.items() if column != signature}
    if renamed:
        lines += ["", "The signatures take " + ", ".join(f"column `{column}` as `{signature}`"
                                                          for column, signature in renamed.items())
                  + " (`model.keras` takes the column names)."]
    lines += ["", "## Outputs", "", "| output | kind | shape per example | activation | values | class names |",
              "|---|---|---|---|---|---|"]
    for task, card in outputs.items():
        names = class_names(card)
        listed = ", ".join(f"{index}: `{value}`" for index, value in enumerate(names)) if names else ""
        lines.append(f"| `{task}` | {card.get('kind', '')} | {card.get('shape')} | {card.get('activation', '')} | "
                     f"{output_meaning(card)} | {listed} |")
    extra = [key for key in output_keys if key not in outputs]
    if extra:
        lines += ["", "Outputs without a task (no loss): " + ", ".join(f"`{key}`" for key in extra) + "."]
    if test_metrics:
        lines += ["", "Test metrics: " + "; ".join(
            f"`{task}` " + ", ".join(f"{metric} {value:.4g}" for metric, value in values.items())
            for task, values in test_metrics.items()) + "."]
    lines += ["", "## Example request", ""]
    if instance is not None:
        lines += [
            "One row of the test data, as a TensorFlow Serving REST request "
            "(`POST http://HOST:8501/v1/models/MODEL:predict`):",
            "", "```json", request_body(instance), "```", "",
        ]
    else:
        lines += ["One example holds too many values to write out here; the Python call below sends zeros of "
                  "the right shape and dtype (a REST request nests the same values per instance).", ""]
    lines += ["The same call in Python, from this folder:", "", "```python", "import tensorflow as tf", "",
              'served = tf.saved_model.load("saved_model")', "inputs = {"]
    for input_name, card in inputs.items():
        signature = signature_names.get(input_name, input_name)
        value = instance.get(signature) if instance is not None else None
        lines.append(f"    {json.dumps(signature)}: {_python_value(value, card)},")
    lines += ["}", 'outputs = served.signatures["serving_default"](**inputs)',
              "print({name: value.numpy() for name, value in outputs.items()})", "```", ""]
    return "\n".join(lines)


def write_model_card(folder, model, recipe, metrics: dict, rows) -> Path:
    """Writes `MODEL_CARD.md` into an artifact folder being written.

    Args:
        folder: str or Path. The (staging) artifact folder.
        model: `MultiTaskModel`. The trained model.
        recipe: `Recipe`. Its recipe.
        metrics: dict. The artifact's `metrics.json` content (`inputs`,
            `outputs`, `test`).
        rows: `tf.data.Dataset`. Unbatched feature dicts to take the example from.

    Returns:
        The path written.

    Example:

    >>> write_model_card(staging, result.model, recipe, metrics, rows)  # doctest: +SKIP
    PosixPath('.../MODEL_CARD.md')
    """
    from mtl_zoo.artifacts.folder import MODEL_CARD_FILE
    from mtl_zoo.artifacts.round_trips import signature_input_names

    names = [tensor.name for tensor in model.network.inputs]
    batch = next(iter(rows.batch(64).take(1)))
    dtypes = {tensor.name: str(tensor.dtype) for tensor in model.network.inputs}
    signature_names = signature_input_names(model)
    instance = example_instance({name: batch[name] for name in names}, dtypes, signature_names)
    text = render_model_card(recipe.name, recipe.description, metrics["inputs"], metrics["outputs"],
                             signature_names, list(model.output_keys), instance, metrics.get("test", {}))
    path = Path(folder) / MODEL_CARD_FILE
    path.write_text(text, encoding="utf-8")
    return path


def example_request(card) -> dict:
    """The JSON request body of a `MODEL_CARD.md` (its text or path), parsed.

    Raises:
        ValueError: the card holds no JSON example (its instance was too
            large to write out).

    Example:

    >>> example_request("saved_models/penguins/MODEL_CARD.md")["signature_name"]  # doctest: +SKIP
    'serving_default'
    """
    text = Path(card).read_text(encoding="utf-8") if isinstance(card, Path) or (
        isinstance(card, str) and "\n" not in card) else card
    blocks = _JSON_BLOCK.findall(text)
    if not blocks:
        raise ValueError("The model card holds no JSON example request (its example was too large to write "
                         "out); build the request as its Python example does. Received: no ```json block")
    return json.loads(blocks[0])


def instances_as_tensors(instances: list, signature) -> dict:
    """TensorFlow Serving's row format (a list of instances) as the keyword tensors a signature takes.

    Args:
        instances: list of dicts. Signature name -> value of one example.
        signature: a SavedModel signature (`served.signatures[name]`).

    Example:

    >>> body = example_request("saved_models/penguins/MODEL_CARD.md")  # doctest: +SKIP
    >>> signature = served.signatures[body["signature_name"]]  # doctest: +SKIP
    >>> outputs = signature(**instances_as_tensors(body["instances"], signature))  # doctest: +SKIP
    """
    import tensorflow as tf

    specs = signature.structured_input_signature[1]
    return {name: tf.constant([instance[name] for instance in instances], spec.dtype) for name, spec in specs.items()}
