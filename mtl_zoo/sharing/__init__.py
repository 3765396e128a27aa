"""Sharing schemes: how trunk blocks are wired between tasks.

Every scheme is a function `scheme(features, trunk, tasks, **options)` that
returns a dict task name -> features, registered in
`mtl_zoo.registry.SHARING_SCHEMES`.
"""

from mtl_zoo.sharing import hard
from mtl_zoo.sharing import progressive
from mtl_zoo.sharing import task_tree
from mtl_zoo.sharing import shared_output
from mtl_zoo.sharing import shared_middle
from mtl_zoo.sharing import mmoe
from mtl_zoo.sharing import cgc
from mtl_zoo.sharing import ple
from mtl_zoo.sharing import dselect_k
from mtl_zoo.sharing import soft
from mtl_zoo.sharing import cross_stitch
from mtl_zoo.sharing import mtan
from mtl_zoo.sharing import esmm

__all__ = ["hard", "progressive", "task_tree", "shared_output", "shared_middle", "mmoe", "cgc", "ple", "dselect_k", "soft", "cross_stitch", "mtan", "esmm"]
