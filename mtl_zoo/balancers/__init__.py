"""Balancers: how per-task losses become one update (see `balancing.base`)."""

from mtl_zoo.balancers import dwa, famo, fixed, gradnorm, rlw, uncertainty
from mtl_zoo.balancers import aligned_mtl, cagrad, graddrop, imtl, mgda, nash_mtl, pcgrad, upgrad
from mtl_zoo.balancers.base import Balancer
from mtl_zoo.balancers.fixed import FixedWeights

__all__ = ["Balancer", "FixedWeights", "fixed"]
