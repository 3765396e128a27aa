"""Per-token, per-pixel and box losses on 2 replicas equal the global masked mean.

The labels are observed unevenly across the replicas (the first replica's
tokens and pixels are mostly missing), the case where per-replica means
would be wrong. Logical devices must be configured before TensorFlow
starts, so the comparison runs in a fresh process (this file, run as a
script).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

if __name__ == "__main__":  # before anything starts TensorFlow's devices
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                               [tf.config.LogicalDeviceConfiguration()] * 2)


def data():
    rng = np.random.default_rng(0)
    features = {"image": rng.random((4, 4, 4, 1), "float32"), "token_ids": rng.integers(1, 9, (4, 5)).astype("int32")}
    tags = rng.integers(0, 3, (4, 5)).astype("int32")
    tags[:2, 1:] = -1  # replica 1: one token per example, replica 2: all five
    mask = rng.integers(0, 2, (4, 4, 4)).astype("int32")
    mask[:2, :, 1:] = -1
    boxes = np.tile(np.array([[0.1, 0.2, 0.6, 0.7]], "float32"), (4, 1))
    boxes[1] = np.nan
    return features, {"tags": tags, "mask": mask, "box": boxes}


def build():
    import keras

    from mtl_zoo.tasks.task import build_head
    from mtl_zoo.models.multi_task_model import MultiTaskModel
    from mtl_zoo.tasks.task import Task

    keras.utils.set_random_seed(0)
    tasks = [Task("tags", "tagging", classes=3), Task("mask", "segmentation", classes=2), Task("box", "bbox")]
    image = keras.Input((4, 4, 1), name="image")
    token_ids = keras.Input((5,), dtype="int32", name="token_ids")
    tokens = keras.layers.Embedding(9, 4)(token_ids)
    conv = keras.layers.Conv2D(3, 3, padding="same")(image)
    outputs = {"tags": build_head(tasks[0], tokens, [tokens]), "mask": build_head(tasks[1], conv, [image, conv]),
               "box": build_head(tasks[2], conv)}
    return MultiTaskModel(keras.Model({"image": image, "token_ids": token_ids}, outputs), tasks)


def main():
    import tensorflow as tf

    features, labels = data()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = build()
    single = {name: float(value) for name, value in
              model.compute_task_losses(labels, model(features), None)[0].items()}
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((features, labels)).batch(4))

    def step(batch_features, batch_labels):
        return model.compute_task_losses(batch_labels, model(batch_features), None)

    means, counts = strategy.run(step, args=next(iter(dataset)))
    replicas = [{name: float(value) for name, value in local.items()} for local in
                strategy.experimental_local_results(means)]
    local_counts = [{name: float(value) for name, value in local.items()} for local in
                    strategy.experimental_local_results(counts)]
    print(json.dumps({"single": single, "replicas": replicas, "counts": local_counts}))


def test_two_replicas_give_the_global_masked_mean_of_every_new_kind():
    completed = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["counts"][0] == {"tags": 2.0 + 10.0, "mask": 8.0 + 32.0, "box": 12.0}  # global counts
    for replica in result["replicas"]:
        for name, value in result["single"].items():
            assert replica[name] == pytest.approx(value, rel=1e-5), name


if __name__ == "__main__":
    main()
