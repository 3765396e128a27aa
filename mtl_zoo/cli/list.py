"""`mtl-zoo list`: the registered components and recipes, as text or JSON.
"""

from __future__ import annotations

import json
import textwrap

from mtl_zoo.utils.tables import format_table


def registry_listing() -> dict:
    """Every registry as name -> one-line description, plus the available recipes.

    An entry a plugin registered ends with `[plugin <module or entry point>]`.
    """
    from mtl_zoo.utils.plugins import entry_origins
    from mtl_zoo.recipes.discovery import available_recipes
    from mtl_zoo.registry import ALL_REGISTRIES, describe

    origins = entry_origins()
    listing = {}
    for registry_name, registry in ALL_REGISTRIES.items():
        listing[registry_name] = {}
        for name in registry.names():
            entry = registry.get(name)
            text = getattr(entry, "description", None) or describe(entry)
            origin = origins.get((registry_name, name))
            listing[registry_name][name] = f"{text} [plugin {origin}]".lstrip() if origin else text
    listing["recipes"] = {name: str(path) for name, path in available_recipes().items()}
    return listing


def command_list(arguments) -> int:
    """Lists task kinds, trunks, sharing schemes, balancers, data sets and recipes."""
    listing = registry_listing()
    if arguments.json:
        print(json.dumps(listing, indent=2))
        return 0
    for registry_name, entries in listing.items():
        print(f"{registry_name}:")
        if entries:
            print(textwrap.indent(format_table(entries.items()), "  "))
    return 0
