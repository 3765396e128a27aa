"""One SGD step on 2 logical CPU devices equals one step on a single device.

Labels are missing unevenly across the two replicas (one task's labels all
sit on replica 0, another has 1 label on replica 0 and 4 on replica 1), the
case where per-replica means give wrong gradients. Logical devices must be
configured before TensorFlow starts, so the comparison runs in a fresh
process (this file, run as a script).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

GLOBAL_BATCH = 10  # 5 examples per replica
REP_GRAD_SUFFIX = "_rep_grad"
EXTRA_BALANCERS = ["sum_of_task_gradients", "mgda_rep_grad", "pcgrad_rep_grad"]


def labels_missing_unevenly():
    rng = np.random.default_rng(11)
    digit = rng.integers(0, 3, GLOBAL_BATCH)
    digit[[1, 2, 8]] = -1
    flag = rng.integers(0, 2, GLOBAL_BATCH).astype("float32")
    flag[[1, 2, 3, 4, 9]] = np.nan  # 1 observed on replica 0, 4 on replica 1
    value = rng.normal(size=(GLOBAL_BATCH, 1)).astype("float32")
    value[4:] = np.nan  # every observed value on replica 0
    return {"digit": digit, "flag": flag, "value": value}


def make_balancer(name):
    import tensorflow as tf

    from mtl_zoo.balancing.base import GradientBalancer
    from mtl_zoo.registry import BALANCERS

    class SumOfTaskGradients(GradientBalancer):
        def aggregate(self, grads):
            return tf.reduce_sum(grads, axis=0)

    if name == "sum_of_task_gradients":
        return SumOfTaskGradients()
    if name.endswith(REP_GRAD_SUFFIX):
        return BALANCERS.get(name.removesuffix(REP_GRAD_SUFFIX))(rep_grad=True)
    return BALANCERS.get(name)()


def one_step_weights(strategy, images, labels, balancer):
    import keras
    import tensorflow as tf

    from mtl_zoo import InputSpec, Task, build_model
    from mtl_zoo.trunks.vision import vision_conv

    inputs = {"image": InputSpec((6, 6, 1))}
    tasks = [Task("digit", "classification", 3), Task("flag", "binary"), Task("value", "regression")]
    with strategy.scope():
        keras.utils.set_random_seed(3)
        model = build_model(inputs, vision_conv(inputs, filters=[4], dense_units=[8]), tasks, shared_depth=1,
                            balancer=make_balancer(balancer))
        model.compile(optimizer=keras.optimizers.SGD(1.0))
    dataset = tf.data.Dataset.from_tensor_slices(({"image": images}, labels)).batch(GLOBAL_BATCH)
    logs = model.fit(dataset, epochs=1, verbose=0, shuffle=False).history
    return {v.path: v.numpy().tolist() for v in model.trainable_variables}, logs


def compare_in_this_process():
    import tensorflow as tf

    from mtl_zoo.registry import BALANCERS

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    images = np.random.default_rng(12).random((GLOBAL_BATCH, 6, 6, 1), dtype="float32")
    labels = labels_missing_unevenly()
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    for balancer in BALANCERS.names() + EXTRA_BALANCERS:
        single, single_logs = one_step_weights(tf.distribute.OneDeviceStrategy("/cpu:0"), images, labels, balancer)
        mirrored, mirrored_logs = one_step_weights(mirrored_strategy, images, labels, balancer)
        results[balancer] = {
            "relative_difference": {
                path: float(np.max(np.abs(np.subtract(single[path], mirrored[path]))) / np.max(np.abs(single[path])))
                for path in single
            },
            "logs": [single_logs, mirrored_logs],
        }
    return {"replicas": mirrored_strategy.num_replicas_in_sync, "balancers": results}


@pytest.fixture(scope="module")
def replica_comparison():
    completed = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    return result["balancers"]


def balancer_names():
    from mtl_zoo.registry import BALANCERS

    return BALANCERS.names() + EXTRA_BALANCERS


@pytest.mark.slow
@pytest.mark.parametrize("balancer", balancer_names())
def test_one_step_on_two_replicas_equals_one_device(replica_comparison, balancer):
    result = replica_comparison[balancer]
    assert len(result["relative_difference"]) >= 8
    worst = max(result["relative_difference"].items(), key=lambda item: item[1])
    assert worst[1] <= 1e-6, f"variable {worst[0]} differs by {worst[1]:.3g} (relative)"
    single_logs, mirrored_logs = result["logs"]
    for name in single_logs:
        assert mirrored_logs[name][0] == pytest.approx(single_logs[name][0], rel=1e-5), name


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(json.dumps(compare_in_this_process()))
