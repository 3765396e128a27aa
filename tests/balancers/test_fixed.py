"""Fixed weights: the objective is the weighted sum, checked by hand."""

import keras
import pytest

from mtl_zoo.balancers.fixed import FixedWeights
from mtl_zoo.errors import OptionError
from mtl_zoo.tasks.task import Task

TASKS = [Task("a", "regression", loss_weight=0.5), Task("b", "regression"), Task("c", "binary")]


def test_uses_task_loss_weights():
    balancer = FixedWeights()
    balancer.build_for_tasks(TASKS)
    assert float(balancer.combine({"a": 2.0, "b": 3.0, "c": 4.0})) == pytest.approx(0.5 * 2 + 3 + 4)


def test_explicit_weights_override_task_weights():
    balancer = FixedWeights(weights={"c": 0.0})
    balancer.build_for_tasks(TASKS)
    assert float(balancer.combine({"a": 2.0, "b": 3.0, "c": 4.0})) == pytest.approx(4.0)


def test_unknown_task_in_weights_is_an_error():
    with pytest.raises(OptionError, match=r"unknown tasks \['d'\]") as error:
        FixedWeights(weights={"d": 1.0}).build_for_tasks(TASKS)
    assert error.value.option == "weights"


@pytest.mark.parametrize("weight", [-1.0, float("inf"), float("nan"), True, "2"])
def test_weights_must_be_finite_and_not_negative(weight):
    with pytest.raises(OptionError, match="finite weights >= 0.*Received: weights=") as error:
        FixedWeights(weights={"a": weight})
    assert error.value.option == "weights"


def test_config_round_trip():
    balancer = FixedWeights(weights={"a": 2.0})
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(balancer))
    assert isinstance(rebuilt, FixedWeights) and rebuilt.weights_by_task == {"a": 2.0}
