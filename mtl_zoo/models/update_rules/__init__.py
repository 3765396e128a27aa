"""Update rules: one class per gradient path of a training step, chosen by the balancer.

`LossWeighted` (one backward pass of the balanced objective),
`TaskGradients` (per-task gradients of the shared variables, aggregated by
the balancer) and `RepresentationGradients` (per-task gradients of the shared
representation, `rep_grad`). `update_rule_for(balancer, network)` picks one.
"""

from __future__ import annotations

from mtl_zoo.balancers.task_gradients import RepresentationSplit
from mtl_zoo.models.update_rules.base import UpdateRule
from mtl_zoo.models.update_rules.loss_weighted import LossWeighted
from mtl_zoo.models.update_rules.representation_gradients import RepresentationGradients
from mtl_zoo.models.update_rules.task_gradients import TaskGradients

__all__ = ["LossWeighted", "RepresentationGradients", "TaskGradients", "UpdateRule", "update_rule_for"]


def update_rule_for(balancer, network) -> UpdateRule:
    """The update rule `balancer` trains with on `network`.

    Args:
        balancer: `Balancer`. Gradient balancers (`uses_task_gradients`) get
            per-task gradients, of the shared representation with `rep_grad`;
            loss-weighting balancers get one backward pass.
        network: `keras.Model`. The functional network (split at its shared
            representation for `rep_grad`).

    Example:

    >>> from mtl_zoo.balancers.fixed import FixedWeights
    >>> type(update_rule_for(FixedWeights(), network=None)).__name__
    'LossWeighted'
    """
    if balancer.rep_grad:
        return RepresentationGradients(RepresentationSplit.of(network))
    if balancer.uses_task_gradients:
        return TaskGradients()
    return LossWeighted()
