"""Named registries: everything a recipe or the command line can name.

Each registry maps a string name to an object (a builder function, a class or a
data source). Registering a name twice is an error, and a failed lookup lists
the names that exist, so a typo in a recipe says what would have worked.

Example:

>>> from mtl_zoo.registry import Registry
>>> colors = Registry("colors")
>>> @colors.register("red")
... def make_red():
...     return "#f00"
>>> colors.get("red")()
'#f00'
"""

from __future__ import annotations

import importlib
from typing import Any, Iterator, Optional


class RegistryError(ValueError):
    """A registry name was registered twice or looked up but not found."""


class Registry:
    """A mapping from names to objects that refuses duplicates.

    Args:
        kind: str. What the registry holds, used in error messages
            (e.g. `"sharing scheme"`).
        builtins: str or None. Module whose import registers the built-in
            entries; imported on the first lookup, so `import mtl_zoo` stays
            light and a lookup still sees every built-in. Defaults to None.
    """

    def __init__(self, kind: str, builtins: Optional[str] = None):
        self.kind = kind
        self._builtins = builtins
        self._entries: dict[str, Any] = {}

    def _load_builtins(self) -> None:
        if self._builtins is not None:
            module, self._builtins = self._builtins, None  # None first: no re-entry while importing
            try:
                importlib.import_module(module)
            except BaseException:
                self._builtins = module
                raise

    def register(self, name: str, obj: Any = None) -> Any:
        """Registers `obj` under `name`; usable as a decorator when `obj` is None.

        Args:
            name: str. The name recipes and the command line use.
            obj: object. The entry. Defaults to None (decorator form).

        Returns:
            The registered object (or a decorator that registers it).
        """
        if obj is None:

            def decorator(entry: Any) -> Any:
                self.register(name, entry)
                return entry

            return decorator
        if name in self._entries:
            raise RegistryError(
                f"A {self.kind} named '{name}' is already registered; choose another "
                f"name. Received: name={name!r}"
            )
        self._entries[name] = obj
        return obj

    def get(self, name: str) -> Any:
        """Returns the entry named `name`, or raises listing the available names."""
        self._load_builtins()
        if name not in self._entries:
            raise RegistryError(
                f"Unknown {self.kind} '{name}'; available: {', '.join(self.names()) or '(none)'}. "
                f"Received: {name!r}"
            )
        return self._entries[name]

    def names(self) -> list[str]:
        """Returns the registered names, sorted."""
        self._load_builtins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load_builtins()
        return len(self._entries)


def describe(entry: Any) -> str:
    """Returns the first line of an entry's docstring, for listings."""
    doc = getattr(entry, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


TASK_KINDS = Registry("task kind", builtins="mtl_zoo.tasks.task")
TRUNKS = Registry("trunk", builtins="mtl_zoo.trunks")
SHARING_SCHEMES = Registry("sharing scheme", builtins="mtl_zoo.sharing")
BALANCERS = Registry("balancer", builtins="mtl_zoo.balancers")
DATASETS = Registry("data set", builtins="mtl_zoo.data")

ALL_REGISTRIES: dict[str, Registry] = {
    "task_kinds": TASK_KINDS,
    "trunks": TRUNKS,
    "sharing": SHARING_SCHEMES,
    "balancers": BALANCERS,
    "datasets": DATASETS,
}
