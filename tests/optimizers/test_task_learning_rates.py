"""Per-task learning rates: private variables move by the task's multiplier, shared ones by the mean."""

import keras
import numpy as np
import pytest

from mtl_zoo.optimizers.task_learning_rates import AdaptTaskLearningRates, TaskLearningRates
from mtl_zoo.errors import OptionError
from mtl_zoo.models.multi_task_model import MultiTaskModel
from mtl_zoo.tasks.task import Task

TASKS = [Task("a", "regression"), Task("b", "binary")]


def data(size=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(size, 3)).astype("float32")
    return {"x": x}, {"a": x[:, :1] * 2.0 + 1.0, "b": (x[:, 1:2] > 0).astype("float32")}


def model_and_start():
    keras.utils.set_random_seed(5)
    inputs = keras.Input((3,), name="x")
    shared = keras.layers.Dense(4, activation="tanh", name="shared")(inputs)
    network = keras.Model({"x": inputs}, {task.name: keras.layers.Dense(1, name=task.name)(shared) for task in TASKS})
    model = MultiTaskModel(network, TASKS)
    return model, {v.path: v.numpy().copy() for v in model.trainable_variables}


def moves(optimizer_factory, multipliers=None, shared="mean", epochs=1, batch_size=16):
    """Trains from a fixed start; returns each variable's change."""
    model, start = model_and_start()
    optimizer = optimizer_factory()
    if multipliers is not None:
        optimizer = TaskLearningRates(optimizer, multipliers, model.variable_tasks, shared=shared)
    model.compile(optimizer=optimizer)
    features, labels = data()
    model.fit(features, labels, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False)
    return {v.path: v.numpy() - start[v.path] for v in model.trainable_variables}


def sgd():
    return keras.optimizers.SGD(0.1)


def test_multiplier_zero_freezes_the_task_private_variables():
    moved = moves(sgd, {"a": 0.0}, epochs=3, batch_size=4)
    assert not np.any(moved["a/kernel"]) and not np.any(moved["a/bias"])
    assert np.all(np.abs(moved["b/kernel"]) > 0) and np.any(moved["shared/kernel"])


@pytest.mark.parametrize("optimizer", [sgd, lambda: keras.optimizers.Adam(0.01)], ids=["sgd", "adam"])
def test_multiplier_two_moves_the_private_variables_twice_as_far(optimizer):
    baseline = moves(optimizer)
    doubled = moves(optimizer, {"b": 2.0})
    for path in ("b/kernel", "b/bias"):
        np.testing.assert_allclose(doubled[path], 2 * baseline[path], rtol=1e-5, atol=1e-8)
    for path in ("a/kernel", "shared/kernel"):  # "mean": the shared layer gets (1 + 2) / 2
        factor = 1.5 if path.startswith("shared") else 1.0
        np.testing.assert_allclose(doubled[path], factor * baseline[path], rtol=1e-5, atol=1e-8)


def test_shared_variables_can_keep_the_base_rate():
    baseline = moves(sgd)
    scaled = moves(sgd, {"a": 0.5, "b": 3.0}, shared="one")
    np.testing.assert_allclose(scaled["shared/kernel"], baseline["shared/kernel"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(scaled["a/kernel"], 0.5 * baseline["a/kernel"], rtol=1e-5, atol=1e-8)


def test_setting_the_learning_rate_rescales_every_group():
    model, _ = model_and_start()
    optimizer = TaskLearningRates(sgd(), {"a": 0.0, "b": 4.0}, model.variable_tasks)
    assert optimizer.group_learning_rates() == {"a": 0.0, "a+b": 0.2, "b": 0.4}
    optimizer.learning_rate = 0.01
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert optimizer.group_learning_rates() == {"a": 0.0, "a+b": 0.02, "b": 0.04}


def reference_multipliers(fixed, previous, latest):
    ratios = np.asarray(latest) / np.asarray(previous)
    return np.asarray(fixed) * np.clip(ratios / ratios.mean(), 0.1, 10.0)


def test_adaptive_multipliers_follow_the_loss_trend():
    model, _ = model_and_start()
    optimizer = TaskLearningRates(sgd(), {"b": 2.0}, model.variable_tasks, adaptive=True)
    history = [[1.0, 0.7], [0.5, 0.69], [0.45, 0.3], [0.449, 0.001]]
    optimizer.on_epoch_end(0, {"a_loss": history[0][0], "b_loss": history[0][1]})
    assert optimizer.multipliers() == {"a": 1.0, "b": 2.0}  # one epoch: no trend yet
    for epoch in range(1, len(history)):
        optimizer.on_epoch_end(epoch, {"a_loss": history[epoch][0], "b_loss": history[epoch][1]})
        expected = reference_multipliers([1.0, 2.0], history[epoch - 1], history[epoch])
        np.testing.assert_allclose(list(optimizer.multipliers().values()), expected, rtol=1e-6)
        rates = optimizer.group_learning_rates()
        np.testing.assert_allclose([rates["a"], rates["b"], rates["a+b"]],
                                   [0.1 * expected[0], 0.1 * expected[1], 0.1 * expected.mean()], rtol=1e-5)
    assert optimizer.multipliers()["b"] == pytest.approx(2.0 * 0.1)  # the bound


def test_adaptive_fit_logs_the_multipliers_and_the_model_round_trips(tmp_path):
    model, _ = model_and_start()
    model.compile(optimizer=TaskLearningRates(keras.optimizers.Adam(0.01), {"a": 0.5}, model.variable_tasks,
                                              adaptive=True))
    features, labels = data()
    history = model.fit(features, labels, batch_size=4, epochs=3, verbose=0,
                        callbacks=[AdaptTaskLearningRates()]).history
    assert history["a_learning_rate_multiplier"][0] == 0.5 and history["b_learning_rate_multiplier"][0] == 1.0
    assert history["a_learning_rate_multiplier"][2] != 0.5
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(reloaded.optimizer, TaskLearningRates)
    assert reloaded.optimizer.multipliers() == model.optimizer.multipliers()
    assert reloaded.optimizer.group_learning_rates() == model.optimizer.group_learning_rates()
    for saved, loaded in zip(model.optimizer.variables, reloaded.optimizer.variables):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())
    # Training resumes from the same state: one more step gives the same weights.
    model.fit(features, labels, batch_size=16, epochs=1, verbose=0, shuffle=False)
    reloaded.fit(features, labels, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for original, copy in zip(model.trainable_variables, reloaded.trainable_variables):
        np.testing.assert_allclose(copy.numpy(), original.numpy(), rtol=1e-6, atol=1e-7)


def test_a_network_of_blocks_reloads_with_its_groups_though_its_variable_paths_change(tmp_path):
    # Blocks rebuilt from config lose their scope prefix ("shared_block_1/shared_block_1_conv/kernel" becomes
    # "shared_block_1_conv/kernel"): the reloaded optimizer must still find each variable's group.
    from mtl_zoo import InputSpec, build_model
    from mtl_zoo.trunks.vision import vision_conv

    inputs = {"image": InputSpec((6, 6, 1))}
    tasks = [Task("a", "regression"), Task("b", "regression")]
    keras.utils.set_random_seed(2)
    model = build_model(inputs, vision_conv(inputs, filters=[4, 4], dense_units=[4]), tasks, shared_depth=2)
    model.compile(optimizer=TaskLearningRates(keras.optimizers.Adam(0.01), {"a": 3.0}, model.variable_tasks))
    rng = np.random.default_rng(1)
    features = {"image": rng.random((8, 6, 6, 1), dtype="float32")}
    labels = {"a": rng.normal(size=(8, 1)).astype("float32"), "b": rng.normal(size=(8, 1)).astype("float32")}
    model.fit(features, labels, batch_size=4, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert reloaded.optimizer.group_learning_rates() == model.optimizer.group_learning_rates() == {"a": 0.03, "a+b": 0.02}
    for saved, loaded in zip(model.optimizer.variables, reloaded.optimizer.variables):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())
    model.fit(features, labels, batch_size=8, epochs=1, verbose=0, shuffle=False)
    reloaded.fit(features, labels, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for original, copy in zip(model.trainable_variables, reloaded.trainable_variables):
        np.testing.assert_allclose(copy.numpy(), original.numpy(), rtol=1e-6, atol=1e-7)


def test_options_are_checked():
    model, _ = model_and_start()
    with pytest.raises(OptionError, match=r"unknown tasks \['c'\]"):
        TaskLearningRates(sgd(), {"c": 2.0}, model.variable_tasks)
    with pytest.raises(OptionError, match=r"finite and >= 0; \['a'\]"):
        TaskLearningRates(sgd(), {"a": -1.0}, model.variable_tasks)
    with pytest.raises(OptionError, match="shared must be one of"):
        TaskLearningRates(sgd(), {"a": 2.0}, model.variable_tasks, shared="max")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    with pytest.raises(OptionError, match="not a schedule") as error:
        TaskLearningRates(keras.optimizers.SGD(schedule), {"a": 2.0}, model.variable_tasks)
    assert error.value.option == "optimizer"
    # A schedule is fine when no group needs its own rate.
    TaskLearningRates(keras.optimizers.SGD(schedule), {"a": 1.0}, model.variable_tasks)
