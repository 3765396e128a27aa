"""Task grouping: the lookahead affinity against a hand computation, clustering, and the synthetic agree/conflict set."""

import numpy as np
import pytest
import yaml

from mtl_zoo.cli import main
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.tuning.grouping import cluster_tasks, grouped_recipe, measure_task_grouping


def test_clustering_merges_while_mean_affinity_is_positive():
    affinity = np.array([[0.0, 0.3, -0.1, 0.2], [0.2, 0.0, -0.2, 0.1], [-0.3, -0.1, 0.0, -0.2], [0.1, 0.1, -0.1, 0.0]])
    assert cluster_tasks(affinity, ["a", "b", "c", "d"]) == [["a", "b", "d"], ["c"]]
    assert cluster_tasks(affinity, ["a", "b", "c", "d"], threshold=0.22) == [["a", "b"], ["c"], ["d"]]
    assert cluster_tasks(affinity, ["a", "b", "c", "d"], threshold=-1.0) == [["a", "b", "c", "d"]]


def test_lookahead_affinity_matches_a_hand_computed_step(synthetic_recipe_path):
    import keras
    import tensorflow as tf

    from mtl_zoo.training.run import build_model_from_recipe, compile_model, load_split
    from mtl_zoo.tuning.affinity import make_affinity_measure

    recipe = load_recipe(synthetic_recipe_path)
    keras.utils.set_random_seed(0)
    model = build_model_from_recipe(recipe)
    compile_model(model, recipe.training)
    features, labels = next(iter(load_split(recipe, "train")))
    affinity, cosine = make_affinity_measure(model, 0.5)(features, labels, None)
    shared = model.shared_variables
    names = model.task_names

    def losses():
        predictions = model(features, training=False)
        return np.array([float(np.mean((predictions[n].numpy()[:, 0] - labels[n].numpy()) ** 2)) for n in names])

    before = losses()
    saved = [v.numpy() for v in shared]
    expected = np.zeros((3, 3))
    gradients = []
    for i, name in enumerate(names):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(features, training=False)[name][:, 0] - labels[name]) ** 2)
        grads = tape.gradient(loss, shared)
        gradients.append(np.concatenate([g.numpy().ravel() for g in grads]))
        for v, g in zip(shared, grads):
            v.assign(v - 0.5 * g)
        expected[i] = 1.0 - losses() / before
        for v, value in zip(shared, saved):
            v.assign(value)
    np.testing.assert_allclose(affinity.numpy(), expected, rtol=1e-4, atol=1e-5)
    g = np.stack(gradients)
    unit = g / np.linalg.norm(g, axis=1, keepdims=True)
    np.testing.assert_allclose(cosine.numpy(), unit @ unit.T, atol=1e-5)


@pytest.mark.slow
def test_grouping_separates_the_conflicting_task(synthetic_recipe_path):
    grouping = measure_task_grouping(load_recipe(synthetic_recipe_path), steps=60, every_n_steps=5, num_groups=2)
    assert grouping.groups == [["agree_a", "agree_b"], ["conflict"]]
    symmetric = (grouping.affinity + grouping.affinity.T) / 2
    assert symmetric[0, 1] > max(symmetric[0, 2], symmetric[1, 2])
    assert grouping.cosine[0, 1] > 0.9 and grouping.cosine[0, 1] > max(grouping.cosine[0, 2], grouping.cosine[1, 2])


@pytest.mark.slow
def test_group_command_writes_task_tree_groups_that_train(synthetic_recipe_path, tmp_path, capsys):
    assert main(["group", str(synthetic_recipe_path), "--output", str(tmp_path), "--steps", "60",
                 "--every-n-steps", "5", "--num-groups", "2"]) == 0
    printed = capsys.readouterr().out
    assert "Lookahead affinity" in printed and "[['agree_a', 'agree_b'], ['conflict']]" in printed
    fragment = yaml.safe_load((tmp_path / "groups.yaml").read_text())
    assert fragment == {"model": {"sharing": "task_tree", "groups": [["agree_a", "agree_b", "conflict"]]}}
    assert (tmp_path / "affinity.png").stat().st_size > 0
    recipe, _ = grouped_recipe(load_recipe(synthetic_recipe_path, ["model.trunk_options.units=[1, 4]"]), steps=60,
                               every_n_steps=5, num_groups=2)
    assert recipe.model.sharing_options["groups"] == [["agree_a", "agree_b", "conflict"],
                                                      [["agree_a", "agree_b"], ["conflict"]]]
    from mtl_zoo.training.run import build_model_from_recipe

    model = build_model_from_recipe(recipe)
    assert {"agree_a_agree_b_block_2", "conflict_block_2"} <= {layer.name for layer in model.network.layers}


@pytest.mark.slow
def test_train_with_measured_groups_trains_the_measured_task_tree(synthetic_recipe_path, tmp_path, capsys):
    import json

    overrides = ["model.sharing=task_tree", "model.groups=auto", "model.trunk_options.units=[1, 4]",
                 "tuning={grouping: {steps: 60, every_n_steps: 5, num_groups: 2}}"]
    assert main(["train", str(synthetic_recipe_path), "--output", str(tmp_path / "out"),
                 *[item for override in overrides for item in ("--set", override)]]) == 0
    printed = capsys.readouterr().out
    assert "Measuring task affinity for model.groups: auto (60 training steps, every 5)" in printed
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["grouping"]["groups"] == [["agree_a", "agree_b"], ["conflict"]]
    saved = yaml.safe_load((tmp_path / "out" / "recipe.yaml").read_text())
    assert saved["model"]["groups"] == [["agree_a", "agree_b", "conflict"], [["agree_a", "agree_b"], ["conflict"]]]
    assert set(metrics["test"]) == {"agree_a", "agree_b", "conflict"}
    assert main(["evaluate", str(tmp_path / "out")]) == 0  # the saved recipe rebuilds the measured tree


def test_measured_groups_belong_to_task_tree_only(synthetic_recipe_path, capsys):
    assert main(["train", str(synthetic_recipe_path), "--set", "model.groups=auto"]) == 2
    assert "model.groups: unknown field" in capsys.readouterr().err


def test_format_matrix_gives_every_value_column_the_same_width():
    from mtl_zoo.tuning.grouping import format_matrix

    assert format_matrix([[0.0, 0.125], [-0.03125, 1.5]], ["a", "bb"]) == (
        "           a        bb\n"
        "a    +0.0000   +0.1250\n"
        "bb   -0.0312   +1.5000"
    )
    assert format_matrix(np.array([[0.0, -0.5], [0.25, 0.0]]), ["a", "conflicting_task"]) == (
        "                                 a  conflicting_task\n"
        "a                          +0.0000           -0.5000\n"
        "conflicting_task           +0.2500           +0.0000"
    )
