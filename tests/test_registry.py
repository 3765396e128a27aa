"""Registries refuse duplicates and list what exists on a failed lookup."""

import pytest

import mtl_zoo  # noqa: F401
from mtl_zoo.registry import ALL_REGISTRIES, Registry, RegistryError


def test_duplicate_names_are_refused():
    registry = Registry("widget")
    registry.register("a", 1)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("a", 2)


def test_failed_lookup_lists_available_names():
    registry = Registry("widget")
    registry.register("b", 1)
    registry.register("a", 2)
    with pytest.raises(RegistryError, match="Unknown widget 'c'; available: a, b"):
        registry.get("c")


def test_package_registers_its_components():
    names = {key: registry.names() for key, registry in ALL_REGISTRIES.items()}
    assert {"classification", "binary", "multilabel", "regression"} <= set(names["task_kinds"])
    assert "vision_conv" in names["trunks"]
    assert "hard" in names["sharing"]
    assert "fixed" in names["balancers"]
    assert {"multi_digits", "multi_mnist"} <= set(names["datasets"])
