"""`mtl-zoo list` as text: each registry's names lined up, then their descriptions."""

import argparse
import importlib
import io
from contextlib import redirect_stdout

listing_module = importlib.import_module("mtl_zoo.cli.list")


def test_list_lines_up_names_and_skips_empty_descriptions(monkeypatch):
    listing = {"trunks": {"vision_conv": "A small conv net.", "mlp": ""}, "balancers": {},
               "recipes": {"a": "recipes/a.yaml"}}
    monkeypatch.setattr(listing_module, "registry_listing", lambda: listing)
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert listing_module.command_list(argparse.Namespace(json=False)) == 0
    assert printed.getvalue() == (
        "trunks:\n"
        "  vision_conv  A small conv net.\n"
        "  mlp\n"
        "balancers:\n"
        "recipes:\n"
        "  a  recipes/a.yaml\n"
    )
