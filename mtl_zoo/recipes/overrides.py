"""`--set key=value` overrides of a recipe: dotted keys, list items by index or by task name.
"""

from __future__ import annotations

from typing import Any

import yaml

from mtl_zoo.errors import RecipeError


def _set_dotted(document: dict, key: str, value: Any) -> None:
    node = document
    parts = key.split(".")
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if part.isdigit() and int(part) < len(node):
                index = int(part)
            else:
                names = [item.get("name") for item in node if isinstance(item, dict)]
                if part not in names:
                    raise KeyError(f"no item '{part}' (items: {', '.join(map(str, names))})")
                index = names.index(part)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise KeyError(f"'{'.'.join(parts[:depth])}' is not a mapping")


def apply_overrides(document: dict, overrides, source: str) -> dict:
    """Applies `key=value` overrides (values parsed as YAML) to a recipe dict.

    Args:
        document: dict. The recipe as read from YAML (modified in place).
        overrides: list of str. Items such as `"training.epochs=2"`,
            `"tasks.0.loss_weight=0.5"` or `"tasks.left_digit.loss_weight=0.5"`.
        source: str. Where the recipe came from, for error messages.
    """
    for item in overrides or ():
        key, separator, raw = item.partition("=")
        if not separator or not key.strip():
            raise RecipeError(source, "--set", f"expected KEY=VALUE such as training.epochs=2. Received: {item!r}")
        try:
            _set_dotted(document, key.strip(), yaml.safe_load(raw) if raw.strip() else None)
        except (KeyError, yaml.YAMLError) as error:
            message = error.args[0] if isinstance(error, KeyError) else str(error).splitlines()[0]
            raise RecipeError(source, key.strip(), f"cannot set it: {message}. Received: --set {item}") from None
    return document
