"""`UpdateRule`: how one training step turns a `MultiTaskModel`'s task losses into a weight update.

A balancer chooses its rule (`mtl_zoo.models.update_rules.update_rule_for`):
loss-weighting balancers take one backward pass of the combined objective
(`LossWeighted`); gradient balancers aggregate per-task gradients of the
shared variables (`TaskGradients`) or, with `rep_grad`, weigh the tasks by
their gradients at the shared representation (`RepresentationGradients`).
`MultiTaskModel.train_step` hands every step to its rule.
"""

from __future__ import annotations

from keras import ops


class UpdateRule:
    """One gradient path of `MultiTaskModel.train_step`; subclasses implement `train_step`."""

    def prepare(self, model) -> None:
        """Runs eagerly before the training function is traced (e.g. to read the variables' owners)."""

    def train_step(self, model, data) -> dict:
        """Runs one training step of `model` on `data` and returns the step's logs."""
        raise NotImplementedError

    @staticmethod
    def loss_scale(model):
        """The factor the optimizer scales losses by: the dynamic loss scale under `mixed_float16`, else 1.

        Gradient balancers differentiate each task's loss separately, so
        they scale each one by this factor (keeping float16 gradients from
        underflowing), hand the balancer the unscaled per-task gradients,
        and give the optimizer the scaled combined gradients, which its
        `apply` unscales (and skips, lowering the scale, when not finite).
        """
        return ops.cast(model.optimizer.scale_loss(ops.ones((), "float32")), "float32")

    @staticmethod
    def apply(model, gradients, variables) -> None:
        """Applies the gradients that exist (a variable no loss reaches gets none)."""
        pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        model.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
