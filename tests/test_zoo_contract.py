"""Every registered sharing scheme and balancer passes the zoo's model contract.

A new scheme or balancer must add rows here; the coverage tests fail until it does.
"""

import keras
import numpy as np
import pytest

from mtl_zoo import InputSpec, Task, build_model
from mtl_zoo.registry import BALANCERS, SHARING_SCHEMES, TRUNKS
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.vision import vision_conv

INPUTS = {"image": InputSpec((8, 8, 1))}
TASKS = [
    Task("digit", "classification", 3),
    Task("flag", "binary"),
    Task("tags", "multilabel", classes=2),
    Task("value", "regression", classes=2, head_units=[4], standardize_target=True),
]
# Closed forms for the contract trunk (filters=[4], dense_units=[8] on 8x8x1 images):
CONV = 3 * 3 * 1 * 4 + 4  # conv block: 3x3 kernel, 1 -> 4 channels, then 2x2 pooling to 4x4x4
DENSE = 4 * 4 * 4 * 8 + 8  # dense block on the flattened 4x4x4 map
# digit, flag, tags, value (head_units [4], then its TargetScale: a non-trainable mean and std per unit)
HEADS = (8 * 3 + 3) + (8 + 1) + (8 * 2 + 2) + (8 * 4 + 4 + 4 * 2 + 2 + 2 * 2)
NUM_TASKS = len(TASKS)
# (scheme, options, parameter count of the contract model by the scheme's closed form)
SHARING_ROWS = [
    ("hard", {"shared_depth": 0}, NUM_TASKS * (CONV + DENSE) + HEADS),
    ("hard", {"shared_depth": 1}, CONV + NUM_TASKS * DENSE + HEADS),
    ("hard", {}, CONV + DENSE + HEADS),
    ("shared_middle", {"shared_from": 1, "shared_to": 2}, NUM_TASKS * CONV + DENSE + HEADS),
    ("shared_output", {"share_head": False}, NUM_TASKS * CONV + DENSE + HEADS),  # tasks differ: own heads
    ("task_tree", {"groups": [["digit", "flag", "tags", "value"], [["digit", "flag"], ["tags"], ["value"]]]},
     CONV + 3 * DENSE + HEADS),
    # columns, plus column k's lateral projections of k earlier columns (4 then 8 channels, with bias)
    ("progressive", {}, NUM_TASKS * (CONV + DENSE) + HEADS
     + sum(k * 4 * 4 + 4 + k * 8 * 8 + 8 for k in range(1, NUM_TASKS))),
    ("soft", {"tie_weight": 0.01}, NUM_TASKS * (CONV + DENSE) + HEADS),  # one column per task
    # columns, plus one K x K mixing per channel after each block (4 then 8 channels)
    ("cross_stitch", {}, NUM_TASKS * (CONV + DENSE) + HEADS + NUM_TASKS**2 * (4 + 8)),
    # shared column, plus per task: a 4 -> 4 -> 4 module on the conv block, an (8 + 4) -> 8 -> 8 one on the dense block
    ("mtan", {}, CONV + DENSE + HEADS + NUM_TASKS * ((4 * 4 + 4) * 2 + (12 * 8 + 8) + (8 * 8 + 8))),
    # experts: copies of the dense block on the shared conv block (gates read its 64 features), or dense
    # experts on the whole trunk (8 features); one softmax gate per task
    ("mmoe", {"num_experts": 3}, CONV + 3 * DENSE + NUM_TASKS * (64 * 3 + 3) + HEADS),
    ("mmoe", {"num_experts": 2, "expert_units": [6, 8]},
     CONV + DENSE + 2 * (8 * 6 + 6 + 6 * 8 + 8) + NUM_TASKS * (8 * 2 + 2) + HEADS),
    ("cgc", {"num_shared_experts": 1, "num_task_experts": 1}, CONV + (1 + NUM_TASKS) * DENSE + NUM_TASKS * (64 * 2 + 2) + HEADS),
    # level 1 copies the conv block, level 2 the dense block; gates read 64 features at both levels,
    # plus the level-1 shared gate over all 1 + NUM_TASKS experts
    ("ple", {"num_shared_experts": 1, "num_task_experts": 1},
     (1 + NUM_TASKS) * (CONV + DENSE) + 2 * NUM_TASKS * (64 * 2 + 2) + 64 * (1 + NUM_TASKS) + (1 + NUM_TASKS) + HEADS),
    ("ple", {"num_levels": 3, "expert_units": [8]}, CONV + DENSE + 3 * (2 + NUM_TASKS) * (8 * 8 + 8)
     + 3 * NUM_TASKS * (8 * 3 + 3) + 2 * (8 * (2 + NUM_TASKS) + 2 + NUM_TASKS) + HEADS),
    # per task k selectors of ceil(log2 E) = 2 bits and k selector weights, linear in the 64 routing
    # features; static gates: 2 bits for the one selector (which needs no weight)
    ("dselect_k", {"num_experts": 3, "k": 2}, CONV + 3 * DENSE + NUM_TASKS * (65 * 2 * 2 + 65 * 2) + HEADS),
    ("dselect_k", {"num_experts": 4, "k": 1, "per_example": False, "expert_units": [8], "entropy_weight": 0.1},
     CONV + DENSE + 4 * (8 * 8 + 8) + NUM_TASKS * 2 + HEADS),
]
# Schemes whose tasks the contract model above cannot have, each with its own check_model test:
# esmm (exactly two binary tasks) in tests/sharing/test_esmm.py.
OWN_CONTRACT_TESTS = {"esmm"}
BALANCER_ROWS = [
    ("fixed", {}),
    ("fixed", {"weights": {"digit": 2.0}}),
    ("uncertainty", {}),
    ("dwa", {"temperature": 1.0}),
    ("rlw", {"seed": 3}),
    ("famo", {}),
    ("gradnorm", {"alpha": 0.5}),
    ("pcgrad", {"seed": 1}),
    ("mgda", {}),
    ("cagrad", {"c": 0.5}),
    ("imtl", {"task_gradients": "loop"}),
    ("nash_mtl", {}),
    ("aligned_mtl", {}),
    ("upgrad", {}),
    ("graddrop", {"leak": 0.2, "seed": 1}),
]


def data(size=32):
    rng = np.random.default_rng(3)
    features = {"image": rng.random((size, 8, 8, 1), dtype="float32")}
    labels = {
        "digit": np.where(rng.random(size) < 0.2, -1, rng.integers(0, 3, size)),
        "flag": rng.integers(0, 2, size).astype("float32"),
        "tags": rng.integers(0, 2, (size, 2)).astype("float32"),
        "value": (3.0 + 2.0 * rng.normal(size=(size, 2))).astype("float32"),  # standardized inside the model
    }
    labels["tags"][::3, 1] = np.nan
    labels["value"][::4] = np.nan
    return features, labels


def make(sharing, options, balancer="fixed", balancer_options=None):
    keras.utils.set_random_seed(0)
    trunk = vision_conv(INPUTS, filters=[4], dense_units=[8])
    balancer_object = BALANCERS.get(balancer)(**(balancer_options or {}))
    return build_model(INPUTS, trunk, TASKS, sharing=sharing, balancer=balancer_object, **options)


# The first row of each scheme also checks the SavedModel export; further rows of a scheme only
# change its options, and the export (several seconds each) is the slowest part of the contract.
EXPORTED_ROWS = {index for index, row in enumerate(SHARING_ROWS) if row[0] not in {r[0] for r in SHARING_ROWS[:index]}}


@pytest.mark.parametrize("row", range(len(SHARING_ROWS)), ids=lambda index: str(SHARING_ROWS[index]))
def test_sharing_scheme_contract(row, tmp_path):
    sharing, options, parameters = SHARING_ROWS[row]
    features, labels = data()
    model = make(sharing, options)
    model.adapt_targets(labels)
    check_model(model, features, labels, tmp_path, expected_parameters=parameters, saved_model=row in EXPORTED_ROWS)


@pytest.mark.parametrize("balancer, options", BALANCER_ROWS, ids=lambda v: str(v))
def test_balancer_contract(balancer, options, tmp_path):
    features, labels = data()
    # The SavedModel does not depend on the balancer; sharing rows check the export.
    model = make("hard", {}, balancer, options)
    model.adapt_targets(labels)
    check_model(model, features, labels, tmp_path, saved_model=False)


def test_every_sharing_scheme_has_a_row():
    covered = {row[0] for row in SHARING_ROWS} | OWN_CONTRACT_TESTS
    assert set(SHARING_SCHEMES.names()) <= covered


def test_every_balancer_has_a_row():
    assert set(BALANCERS.names()) <= {row[0] for row in BALANCER_ROWS}


# Trunks other than vision_conv (the trunk of every row above) need their own inputs and data;
# each runs check_model in its own test (tests/trunks/test_features.py, tests/trunks/test_mlp.py,
# tests/trunks/test_resnet.py); the keras.applications trunks check their stages and the .keras
# round trip in tests/trunks/test_applications.py (a full check_model takes over a minute each).
OWN_TRUNK_CONTRACT_TESTS = {"vision_conv", "features", "mlp", "text", "vision_resnet", "mobilenet_v3_small",
                            "efficientnet_b0", "resnet50"}


def test_every_trunk_has_a_contract_test():
    assert set(TRUNKS.names()) <= OWN_TRUNK_CONTRACT_TESTS
