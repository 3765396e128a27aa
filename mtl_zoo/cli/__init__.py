"""The `mtl-zoo` command line: `parser.py` (parser, error mapping, `main`), one module per command, `common.py`.

`python -m mtl_zoo.cli` and the `mtl-zoo` console script both run `main`.
"""

from mtl_zoo.cli.parser import main

__all__ = ["main"]
