"""`python -m mtl_zoo.cli`: the `mtl-zoo` command."""

import sys

from mtl_zoo.cli.parser import main

if __name__ == "__main__":
    sys.exit(main())
