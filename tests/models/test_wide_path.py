"""Wide path: per-task linear logits over TF-IDF, one-hot and crossed columns, added before the activation."""

import numpy as np
import pytest
import tensorflow as tf

from mtl_zoo import InputSpec, Task, WidePath, build_model
from mtl_zoo.errors import OptionError, RecipeError
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.testing import check_model
from mtl_zoo.trunks.features import features
from mtl_zoo.trunks.text import text

TEXT = {"title": InputSpec((), "string", feature_type="text")}
COLUMNS = {**TEXT, "city": InputSpec((), "string", feature_type="categorical"),
           "year": InputSpec((), "int64", feature_type="id"), "age": InputSpec((), "float32", feature_type="numeric")}
WORDS = [f"w{index}" for index in range(40)]


def _rows(size, seed=0):
    rng = np.random.default_rng(seed)
    return {"title": np.array([" ".join(rng.choice(WORDS, 4)) for _ in range(size)], dtype=object),
            "city": np.array(rng.choice(["oslo", "rome", "lima"], size), dtype=object),
            "year": rng.integers(1990, 1994, size).astype("int64"),
            "age": rng.normal(size=size).astype("float32")}


def _adapted(path_or_trunk, rows):
    return path_or_trunk.adapt(tf.data.Dataset.from_tensor_slices(rows))


def _word_groups_labels(titles):
    """Label k of 4 is on when the title holds one of the words w{k}, w{k+4}, w{k+8} (independent bits)."""
    return np.array([[any(f"w{k + 4 * j}" in title.split() for j in range(3)) for k in range(4)]
                     for title in titles], dtype="float32")


def test_wide_path_fits_word_presence_labels_that_a_one_unit_deep_path_cannot():
    train, test = _rows(1024, seed=1), _rows(512, seed=2)
    task = Task("groups", "multilabel", classes=4)
    accuracies = {}
    for with_wide in (False, True):
        tf.keras.utils.set_random_seed(0)
        trunk = _adapted(features(TEXT, units=[1]), {"title": train["title"]})
        wide = _adapted(WidePath(TEXT, columns=["title"], ngrams=1, l2=0.0), {"title": train["title"]}) \
            if with_wide else None
        model = build_model(TEXT, trunk, [task], wide=wide)
        model.compile(optimizer=tf.keras.optimizers.Adam(0.05))
        model.fit({"title": train["title"]}, {"groups": _word_groups_labels(train["title"])}, epochs=15,
                  batch_size=64, verbose=0)
        logs = model.evaluate({"title": test["title"]}, {"groups": _word_groups_labels(test["title"])},
                              return_dict=True, verbose=0)
        accuracies[with_wide] = logs["groups_accuracy"]
    assert accuracies[True] > 0.97, accuracies
    assert accuracies[True] - accuracies[False] > 0.1, accuracies


def test_wide_logits_are_tf_idf_of_the_adapted_vocabulary_times_kernel_plus_bias():
    train = _rows(64)
    wide = _adapted(WidePath(TEXT, columns=["title"], ngrams=2), {"title": train["title"]})
    trunk = _adapted(features(TEXT, units=[4]), {"title": train["title"]})
    model = build_model(TEXT, trunk, [Task("score", "regression", classes=2)], wide=wide)
    layer = model.network.get_layer("score_wide_logits")
    rng = np.random.default_rng(3)
    kernel, bias = rng.normal(size=layer.kernel.shape), rng.normal(size=2)
    layer.set_weights([kernel.astype("float32"), bias.astype("float32")])

    vocabulary = wide.encodings[0].layer.get_vocabulary()
    documents = [title.split() + [" ".join(pair) for pair in zip(title.split(), title.split()[1:])]
                 for title in train["title"]]
    frequency = {term: sum(term in document for document in documents) for term in vocabulary}
    idf = np.array([0.0] + [np.log(1 + len(documents) / (1 + frequency[term])) for term in vocabulary[1:]])
    counts = np.array([[document.count(term) for term in vocabulary] for document in documents])
    assert counts[:, 0].sum() == 0  # every n-gram is in the vocabulary (OOV entry unused)
    expected = (counts * idf) @ kernel + bias

    deep = tf.keras.Model(model.network.input, model.network.get_layer("score_deep_logits").output)
    outputs = model.predict({"title": train["title"]}, verbose=0)["score"]
    added = outputs - deep.predict({"title": train["title"]}, verbose=0)
    np.testing.assert_allclose(added, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("trunk_name, sharing, options", [
    ("features", "hard", {"shared_depth": 1}),
    ("features", "mmoe", {"num_experts": 2, "expert_units": [4]}),
    ("text", "hard", {"shared_depth": 1}),
])
def test_wide_path_round_trips_keras_and_saved_model_with_sharing_schemes(trunk_name, sharing, options, tmp_path):
    rows = _rows(48)
    if trunk_name == "features":
        inputs, trunk = COLUMNS, features(COLUMNS, units=[8, 4])
    else:
        inputs, trunk = TEXT, text(TEXT, num_blocks=1, embedding_dim=4, ffn_units=4, sequence_length=4)
        rows = {"title": rows["title"]}
    _adapted(trunk, rows)
    crosses = [["city", "year"]] if trunk_name == "features" else None
    columns = ["title", "city"] if trunk_name == "features" else ["title"]
    wide = _adapted(WidePath(inputs, columns=columns, crosses=crosses, tasks=["kind"]), rows)
    tasks = [Task("kind", "classification", 3), Task("liked", "binary")]
    model = build_model(inputs, trunk, tasks, sharing=sharing, wide=wide, **options)
    names = [layer.name for layer in model.network.layers]
    assert "kind_wide_logits" in names and "liked_wide_logits" not in names
    labels = {"kind": np.arange(48) % 3, "liked": (np.arange(48) % 2).astype("float32")}
    check_model(model, rows, labels, tmp_path)
    assert np.abs(model.network.get_layer("kind_wide_logits").kernel.numpy()).sum() > 0


def test_l2_of_the_wide_kernels_is_the_logged_regularization_loss():
    rows = _rows(32)
    trunk = _adapted(features(TEXT, units=[2]), {"title": rows["title"]})
    wide = _adapted(WidePath(TEXT, columns=["title"], l2=0.01), {"title": rows["title"]})
    model = build_model(TEXT, trunk, [Task("kind", "classification", 3), Task("liked", "binary")], wide=wide)
    rng = np.random.default_rng(0)
    kernels = []
    for task in ("kind", "liked"):
        layer = model.network.get_layer(f"{task}_wide_logits")
        kernels.append(rng.normal(size=layer.kernel.shape).astype("float32"))
        layer.set_weights([kernels[-1], np.zeros(layer.bias.shape, "float32")])
    model.compile(optimizer="adam")
    labels = {"kind": np.arange(32) % 3, "liked": (np.arange(32) % 2).astype("float32")}
    logs = model.evaluate({"title": rows["title"]}, labels, return_dict=True, verbose=0)
    expected = 0.01 * sum(float(np.sum(kernel.astype("float64") ** 2)) for kernel in kernels)
    assert logs["regularization_loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["kind_loss"] + logs["liked_loss"] + expected, rel=1e-5)


def test_wide_path_refuses_columns_it_cannot_encode_and_heads_it_cannot_reach():
    with pytest.raises(OptionError, match="no input column 'titel'"):
        WidePath(COLUMNS, columns=["titel"])
    with pytest.raises(OptionError, match="'age' is numeric"):
        WidePath(COLUMNS, columns=["age"])
    with pytest.raises(OptionError, match="crosses categorical and id columns; 'title' is text"):
        WidePath(COLUMNS, columns=["city"], crosses=[["city", "title"]])
    rows = _rows(16)
    trunk = _adapted(features(COLUMNS, units=[4]), rows)
    wide = WidePath(COLUMNS, columns=["city"])
    tasks = [Task("kind", "classification", 3), Task("other", "classification", 3)]
    with pytest.raises(OptionError, match="share_head: false"):
        build_model(COLUMNS, trunk, tasks, sharing="shared_output", wide=wide)
    with pytest.raises(OptionError, match="task 'nope' has no head"):
        build_model(COLUMNS, trunk, tasks, wide=WidePath(COLUMNS, columns=["city"], tasks=["nope"]))


def test_recipe_wide_option_is_validated_in_one_line():
    recipe = load_recipe("movie_titles_hard", ["model.wide={columns: [title], l2: 1e-3}"])
    assert recipe.model.wide["l2"] == 0.001 and recipe.model.wide["ngrams"] == 2
    assert "wide" not in recipe.model.sharing_options
    with pytest.raises(RecipeError, match=r"movie_titles_hard.yaml .*: model\.wide\.columns: .*column 'titel'"):
        load_recipe("movie_titles_hard", ["model.wide={columns: [titel]}"])
    with pytest.raises(RecipeError, match=r"model\.wide\.ngram: unknown field; allowed: columns, ngrams"):
        load_recipe("movie_titles_hard", ["model.wide={columns: [title], ngram: 2}"])
    with pytest.raises(RecipeError, match=r"model\.wide\.tasks: no task is named 'genre'"):
        load_recipe("movie_titles_hard", ["model.wide={columns: [title], tasks: [genre]}"])


def test_single_task_baselines_keep_the_wide_path_of_their_task():
    from mtl_zoo.training.single_task import _single_task_document

    recipe = load_recipe("movie_titles_hard", ["model.wide={columns: [title], tasks: [genres]}"])
    assert _single_task_document(recipe, "genres", keep_sharing=True)["model"]["wide"]["tasks"] is None
    assert _single_task_document(recipe, "rating", keep_sharing=True)["model"]["wide"] is None
    assert _single_task_document(recipe, "genres", keep_sharing=False)["model"]["wide"]["columns"] == ["title"]
