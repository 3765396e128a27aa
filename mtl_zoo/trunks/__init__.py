"""Trunks: feature extractors cut into blocks (see `mtl_zoo.trunks.base`)."""

from mtl_zoo.trunks import vision
from mtl_zoo.trunks.base import Trunk

__all__ = ["Trunk", "vision"]
