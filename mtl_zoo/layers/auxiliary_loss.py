"""`AuxiliaryLoss`: a layer that adds a named term to the training objective.

Some sharing schemes train with a term besides the task losses: soft sharing
ties the task columns with an L2 penalty, feature alignment pulls two tasks'
representations together. Such a term is computed by a layer derived from
`AuxiliaryLoss`, placed in the network like any layer (it passes its inputs
through unchanged, so it stays on the path to the outputs). It adds
`weight * term` to the model's losses, and `MultiTaskModel` logs it under the
layer's name (e.g. `soft_tie_loss`) besides `loss` and the task losses.

Subclasses implement `compute_term(inputs)`.

Under `tf.distribute` every replica runs the network in its own thread, and
Keras keeps a layer's `losses` in one list that all of them write to; the
layer therefore also keeps the term of the current thread's (replica's)
call (`replica_term()`), which is what `MultiTaskModel` trains on.

Example:

>>> import keras
>>> from keras import ops
>>> from mtl_zoo.layers.auxiliary_loss import AuxiliaryLoss
>>> class MeanSquare(AuxiliaryLoss):
...     def compute_term(self, inputs):
...         return ops.mean(ops.square(inputs))
>>> layer = MeanSquare(weight=0.5, name="square_loss")
>>> _ = layer(ops.ones((2, 3)) * 2.0)
>>> float(layer.losses[0])
2.0
"""

from __future__ import annotations

import threading

import keras
from keras import ops


class AuxiliaryLoss(keras.layers.Layer):
    """Base class of layers that add a weighted, named term to the objective.

    Args:
        weight: float. Multiplies the term. Defaults to 1.0.
        **kwargs: Keras layer arguments; `name` is the log key (end it in
            `_loss`).
    """

    def __init__(self, weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not weight >= 0:
            raise ValueError(f"{type(self).__name__} needs weight >= 0. Received: weight={weight}")
        self.weight = float(weight)
        self._replica_terms = threading.local()

    def add_term(self, term) -> None:
        """Adds the weighted `term` of this call: to Keras' `losses`, and as this replica's term."""
        self._replica_terms.value = term
        self.add_loss(term)

    def replica_term(self):
        """The weighted term of the last call in this thread (this replica's), or 0.0 before any call."""
        return getattr(self._replica_terms, "value", 0.0)

    def compute_term(self, inputs):
        """Returns the unweighted scalar term for `inputs`."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_term().")

    def call(self, inputs):
        self.add_term(self.weight * ops.cast(self.compute_term(inputs), "float32"))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "weight": self.weight}


def auxiliary_loss_layers(network) -> list:
    """The `AuxiliaryLoss` layers of a network (searched through nested models)."""
    found = []
    for layer in network.layers:
        if isinstance(layer, AuxiliaryLoss):
            found.append(layer)
        elif hasattr(layer, "layers") and isinstance(layer, keras.Model):
            found.extend(auxiliary_loss_layers(layer))
    return found
