"""Plugins: user modules whose import registers trunks, sharing schemes, balancers and data sets.

A recipe can only name what is registered (`mtl_zoo.registry`). A plugin is a
Python module that registers more entries when it is imported, so the command
line can train, list, evaluate and export them:

- `mtl-zoo --import my_package.my_zoo train my_recipe.yaml` imports the module
  before the command runs (`--import` is repeatable);
- an installed distribution can declare an entry point in the group
  `mtl_zoo.plugins`; every such entry point is loaded before each command.
  Its value names a module (`my_zoo = my_package.my_zoo`), or a function
  called with no arguments after its module is imported
  (`my_zoo = my_package.my_zoo:register`).

Which plugins were loaded is recorded (`plugin_record()`); artifacts keep the
record in `metrics.json` (field `plugins`). Importing a module runs its code,
so `mtl-zoo evaluate` / `export` / `predict` import the plugins an artifact
names only when asked: by `--import` of the same modules, or with
`--trust-plugins` (`import_recorded_plugins`); otherwise they stop with a
one-line `PluginError` naming the plugins (`pending_plugins`). A plugin that
fails to import raises a one-line `PluginError` naming the module and the
exception.

This module imports neither TensorFlow nor Keras itself (plugins usually do).

Example:

>>> from mtl_zoo.utils.plugins import import_plugin_module, plugin_record
>>> plugin = import_plugin_module("my_package.my_zoo")  # doctest: +SKIP
>>> plugin.entries  # doctest: +SKIP
{'trunks': ['tiny_mlp'], 'datasets': ['my_clicks']}
>>> plugin_record()  # doctest: +SKIP
{'modules': ['my_package.my_zoo'], 'entry_points': []}
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
from typing import Iterable, Optional

from mtl_zoo.errors import PluginError

ENTRY_POINT_GROUP = "mtl_zoo.plugins"
RECORD_FIELD = "plugins"


@dataclasses.dataclass
class LoadedPlugin:
    """A plugin that was imported in this process.

    Args:
        kind: str. "module" (imported by name, e.g. `--import`) or
            "entry_point" (from the `mtl_zoo.plugins` entry-point group).
        name: str. The module name, or the entry point's name.
        value: str. What was imported: the module name, or the entry
            point's value (`module` or `module:function`).
        entries: dict. Registry name (as in `mtl_zoo.registry.ALL_REGISTRIES`)
            -> names the import registered there.
    """

    kind: str
    name: str
    value: str
    entries: dict = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        """How listings name the plugin, e.g. "my_package.my_zoo" or "entry point my_zoo"."""
        return self.name if self.kind == "module" else f"entry point {self.name}"


_LOADED: list[LoadedPlugin] = []


def _first_line(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _registry_snapshot() -> dict:
    """Registry name -> set of registered names, built-in entries loaded first."""
    from mtl_zoo.registry import ALL_REGISTRIES

    return {name: set(registry.names()) for name, registry in ALL_REGISTRIES.items()}


def _record(kind: str, name: str, value: str, load) -> LoadedPlugin:
    """Runs `load()` and records what it registered; a plugin loaded before is returned as it was."""
    for plugin in _LOADED:
        if (plugin.kind, plugin.value) == (kind, value):
            return plugin
    before = _registry_snapshot()
    load()
    after = _registry_snapshot()
    entries = {registry: sorted(after[registry] - before[registry])
               for registry in after if after[registry] - before[registry]}
    plugin = LoadedPlugin(kind, name, value, entries)
    _LOADED.append(plugin)
    return plugin


def import_plugin_module(module: str, needed_by: Optional[str] = None) -> LoadedPlugin:
    """Imports `module` for the entries it registers, and records it.

    Args:
        module: str. A dotted module name, e.g. "my_package.my_zoo".
        needed_by: str or None. What asks for the module (e.g. an artifact
            folder), named in the error message. Defaults to None (the
            `--import` option).

    Returns:
        The `LoadedPlugin`, with the names it registered.

    Raises:
        PluginError: the module could not be imported (not found, or its
            code raised, e.g. by registering a name that is taken).

    Example:

    >>> import_plugin_module("my_package.my_zoo").entries  # doctest: +SKIP
    {'trunks': ['tiny_mlp']}
    """
    if not isinstance(module, str) or module.endswith(".py") or not all(
            part.isidentifier() for part in module.split(".")):
        raise PluginError(
            "--import takes a dotted module name such as my_package.my_zoo, not a file: put the folder "
            f"that holds it on PYTHONPATH (or run from it). Received: {module!r}"
        )

    def load():
        try:
            importlib.import_module(module)
        except Exception as error:  # anything the plugin's code raises
            where = f"{needed_by} needs plugin module '{module}'" if needed_by else f"--import {module}"
            hint = (" Install it or put the folder that holds it on PYTHONPATH."
                    if isinstance(error, ModuleNotFoundError) else "")
            raise PluginError(f"{where}: the import failed: {_first_line(error)}.{hint}") from error

    return _record("module", module, module, load)


def _distribution_name(entry_point) -> str:
    distribution = getattr(entry_point, "dist", None)
    return f" of distribution '{distribution.name}'" if distribution is not None else ""


def load_entry_point(entry_point, needed_by: Optional[str] = None) -> LoadedPlugin:
    """Loads one `mtl_zoo.plugins` entry point (a module, or a function then called) and records it.

    Args:
        entry_point: `importlib.metadata.EntryPoint`.
        needed_by: str or None. What asks for it (e.g. an artifact folder),
            named in the error message. Defaults to None.

    Returns:
        The `LoadedPlugin`.

    Raises:
        PluginError: the entry point could not be loaded or its function raised.
    """

    def load():
        try:
            loaded = entry_point.load()
            if entry_point.attr and callable(loaded):
                loaded()
        except Exception as error:  # anything the plugin's code raises
            who = f"{needed_by} needs plugin" if needed_by else "Plugin"
            raise PluginError(
                f"{who} entry point '{entry_point.name} = {entry_point.value}' (group {ENTRY_POINT_GROUP}"
                f"{_distribution_name(entry_point)}) failed to load: {_first_line(error)}. Reinstall or "
                "uninstall the distribution that declares it."
            ) from error

    return _record("entry_point", entry_point.name, entry_point.value, load)


def installed_entry_points() -> list:
    """The installed entry points of the group `mtl_zoo.plugins`, sorted by name."""
    return sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)


def load_plugins(modules: Iterable[str] = (), entry_points: bool = True) -> list[LoadedPlugin]:
    """Loads the installed `mtl_zoo.plugins` entry points, then imports `modules`.

    Args:
        modules: list of str. Dotted module names (the `--import` options).
        entry_points: bool. Load every installed entry point of the group
            `mtl_zoo.plugins`. Defaults to True.

    Returns:
        The plugins loaded by this call, in order.

    Example:

    >>> [plugin.name for plugin in load_plugins(["my_package.my_zoo"])]  # doctest: +SKIP
    ['my_package.my_zoo']
    """
    loaded = []
    if entry_points:
        loaded += [load_entry_point(point) for point in installed_entry_points()]
    loaded += [import_plugin_module(module) for module in modules]
    return loaded


def plugin_record() -> dict:
    """What an artifact stores to load the same plugins again.

    Returns:
        `{"modules": [module, ...], "entry_points": [{"name": ..., "value": ...}, ...]}`
        over every plugin loaded in this process.

    Example:

    >>> sorted(plugin_record())
    ['entry_points', 'modules']
    """
    return {
        "modules": [plugin.value for plugin in _LOADED if plugin.kind == "module"],
        "entry_points": [{"name": plugin.name, "value": plugin.value}
                         for plugin in _LOADED if plugin.kind == "entry_point"],
    }


def check_plugin_record(record) -> Optional[str]:
    """What is wrong with a `plugin_record()` read from a file, or None if it is well formed.

    Example:

    >>> check_plugin_record({"modules": ["my_zoo"], "entry_points": []}) is None
    True
    >>> check_plugin_record({"modules": "my_zoo"})
    'field modules must be a list of module names'
    """
    if record is None:
        return None
    if not isinstance(record, dict):
        return "must be an object with the fields modules and entry_points"
    modules = record.get("modules", [])
    if not isinstance(modules, list) or not all(isinstance(module, str) for module in modules):
        return "field modules must be a list of module names"
    points = record.get("entry_points", [])
    if not isinstance(points, list) or not all(
            isinstance(point, dict) and isinstance(point.get("name"), str) and isinstance(point.get("value"), str)
            for point in points):
        return "field entry_points must be a list of {name, value} objects"
    return None


def pending_plugins(record: Optional[dict]) -> list[str]:
    """The plugins a `plugin_record()` names that this process has not loaded, as `module` or `module:function`.

    Example:

    >>> pending_plugins({"modules": ["my_package.my_zoo"], "entry_points": []})
    ['my_package.my_zoo']
    """
    record = record or {}
    loaded = {(plugin.kind, plugin.value) for plugin in _LOADED}
    pending = [point["value"] for point in record.get("entry_points", [])
               if ("entry_point", point["value"]) not in loaded]
    pending += [module for module in record.get("modules", []) if ("module", module) not in loaded]
    return list(dict.fromkeys(pending))


def import_recorded_plugins(record: Optional[dict], needed_by: str) -> list[LoadedPlugin]:
    """Loads the plugins a `plugin_record()` names (those not loaded yet).

    Args:
        record: dict or None. A `plugin_record()` (e.g. from an artifact's
            `metrics.json`); None loads nothing.
        needed_by: str. What needs them (e.g. the artifact folder), for the
            error message.

    Returns:
        The plugins loaded.

    Raises:
        PluginError: a recorded plugin is missing or fails to import.

    Example:

    >>> import_recorded_plugins({"modules": [], "entry_points": []}, "saved_models/run")
    []
    """
    record = record or {}
    loaded = []
    for point in record.get("entry_points", []):
        entry_point = importlib.metadata.EntryPoint(point["name"], point["value"], ENTRY_POINT_GROUP)
        loaded.append(load_entry_point(entry_point, needed_by=needed_by))
    loaded += [import_plugin_module(module, needed_by=needed_by) for module in record.get("modules", [])]
    return loaded


def entry_origins() -> dict:
    """`(registry name, entry name) -> plugin label` for every entry a plugin registered.

    Example:

    >>> entry_origins()  # doctest: +SKIP
    {('trunks', 'tiny_mlp'): 'my_package.my_zoo'}
    """
    return {(registry, name): plugin.label
            for plugin in _LOADED for registry, names in plugin.entries.items() for name in names}
