"""Data from CSV and Parquet files: the three split layouts, column types, labels, and every refusal."""

import os

import keras
import numpy as np
import pandas as pd
import pytest
import yaml

from mtl_zoo.models.builders import build_model
from mtl_zoo.data.tables.files import LabelColumn, file_data_source, recipe_data_source
from mtl_zoo.errors import DataError, RecipeError
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.recipes.schema import DataConfig
from mtl_zoo.recipes.validation import validate_recipe
from mtl_zoo.tasks.task import Task
from mtl_zoo.trunks.base import Trunk

FRAME = pd.DataFrame({
    "age": [31.0, 45.0, 27.0, 52.0, 38.0, 29.0, 61.0, 44.0, 35.0, 50.0],
    "city": ["Oslo", "Rome", "Oslo", "Lima", "Rome", "Lima", "Oslo", "Rome", "Lima", "Oslo"],
    "user_id": [101, 102, 103, 104, 105, 106, 107, 108, 109, 110],
    "review": ["great fit", "too small", "great", "ok", "bad seams", "fine", "great", "ok", "love it", "meh"],
    "species": ["Gentoo", "Adelie", "Chinstrap", "Adelie", "Gentoo", None, "Adelie", "Chinstrap", "Gentoo", "Adelie"],
    "clicked": [1, 0, None, 1, 0, 1, 0, None, 1, 0],
    "price": [9.5, None, 3.0, 4.25, 7.0, 1.5, None, 2.0, 8.0, 6.5],
    "split": ["train"] * 6 + ["validation"] * 2 + ["test"] * 2,
})
COLUMNS = {"age": "numeric", "city": "categorical", "user_id": "id", "review": "text"}
LABELS = [
    LabelColumn("species", "classification", 3, "species", "tasks[0].name"),
    LabelColumn("clicked", "binary", 1, "clicked", "tasks[1].name"),
    LabelColumn("price", "regression", 1, "price", "tasks[2].name"),
]
SPECIES = ("Adelie", "Chinstrap", "Gentoo")


def write(frame, path):
    """Writes `frame` as CSV or Parquet by the file name; returns the path."""
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    return path


def split_column_config(path, **fields):
    return DataConfig(**{"file": str(path), "split_column": "split", "columns": dict(COLUMNS), **fields})


def rows(source, split):
    """All examples of a split as numpy: (features, labels)."""
    features, labels = next(iter(source.load(split).batch(1000)))
    def decode(value):
        return [item.decode() for item in value.numpy()] if value.dtype.name == "string" else value.numpy()

    return ({name: decode(value) for name, value in features.items()},
            {name: value.numpy() for name, value in labels.items()})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("tables")


@pytest.fixture(scope="module")
def csv_source(folder):
    return file_data_source(split_column_config(write(FRAME, folder / "shop.csv")), LABELS)


def test_split_column_layout_reads_each_split_with_its_types(csv_source):
    source = csv_source
    assert source.splits == ("test", "train", "validation")
    assert {name: (spec.shape, spec.dtype, spec.feature_type) for name, spec in source.inputs.items()} == {
        "age": ((), "float32", "numeric"), "city": ((), "string", "categorical"),
        "user_id": ((), "int64", "id"), "review": ((), "string", "text")}
    train = FRAME[FRAME.split == "train"]
    features, labels = rows(source, "train")
    np.testing.assert_array_equal(features["age"], train.age.to_numpy("float32"))
    assert features["city"] == train.city.tolist() and features["review"] == train.review.tolist()
    np.testing.assert_array_equal(features["user_id"], train.user_id.to_numpy())
    assert features["user_id"].dtype == np.int64


def test_string_classes_are_indices_in_sorted_order_of_the_training_values(csv_source):
    assert csv_source.labels["species"].vocabulary == SPECIES
    assert csv_source.labels["species"].classes == 3 and csv_source.labels["species"].missing == "-1"
    for split in csv_source.splits:
        _, labels = rows(csv_source, split)
        names = FRAME[FRAME.split == split].species
        expected = [SPECIES.index(name) if isinstance(name, str) else -1 for name in names]
        assert labels["species"].tolist() == expected
        assert labels["species"].dtype == np.int32


def test_empty_label_cells_are_missing_labels(csv_source):
    _, labels = rows(csv_source, "train")
    assert labels["species"].tolist()[5] == -1
    np.testing.assert_array_equal(labels["clicked"], np.array([1, 0, np.nan, 1, 0, 1], "float32"))
    np.testing.assert_array_equal(labels["price"], np.array([9.5, np.nan, 3.0, 4.25, 7.0, 1.5], "float32"))
    assert csv_source.labels["clicked"].missing == "nan" and csv_source.labels["clicked"].vocabulary is None


def test_one_file_per_split_in_csv_tsv_and_parquet_gives_the_same_data(folder, csv_source):
    typed = FRAME.convert_dtypes()  # nullable Int64, Float64 and string columns, as Parquet files often hold
    files = {}
    for split, suffix in (("train", ".parquet"), ("validation", ".tsv"), ("test", ".parquet")):
        files[split] = str(write(typed[typed.split == split].drop(columns="split"), folder / f"{split}{suffix}"))
    source = file_data_source(DataConfig(files=files, columns=dict(COLUMNS)), LABELS)
    assert source.splits == ("train", "validation", "test")
    assert {name: spec.dtype for name, spec in source.inputs.items()} == {
        name: spec.dtype for name, spec in csv_source.inputs.items()}
    assert source.labels == csv_source.labels
    for split in source.splits:
        (features, labels), (expected_features, expected_labels) = rows(source, split), rows(csv_source, split)
        for name, values in expected_features.items():
            np.testing.assert_array_equal(features[name], values)
        for name, values in expected_labels.items():
            np.testing.assert_array_equal(labels[name], values)


def test_random_split_takes_fractions_of_the_rows_with_a_seed(folder):
    many = pd.DataFrame({"age": np.arange(50, dtype="float64"), "user_id": np.arange(1000, 1050),
                         "price": np.linspace(1.0, 5.0, 50)})
    path = write(many, folder / "many.csv")

    def split_ids(seed):
        config = DataConfig(file=str(path), validation_fraction=0.2, test_fraction=0.3, split_seed=seed,
                            columns={"age": "numeric", "user_id": "id"})
        source = file_data_source(config, [LabelColumn("price", "regression", 1, "price", "tasks[0].name")])
        return {split: rows(source, split)[0]["user_id"].tolist() for split in source.splits}

    ids = split_ids(7)
    assert {split: len(values) for split, values in ids.items()} == {"train": 25, "validation": 10, "test": 15}
    assert sorted(sum(ids.values(), [])) == list(range(1000, 1050))  # every row in exactly one split
    assert all(values == sorted(values) for values in ids.values())  # file order kept within a split
    assert split_ids(7) == ids
    assert split_ids(8)["test"] != ids["test"]


def test_string_binary_labels_and_integer_classes(folder):
    frame = pd.DataFrame({"age": [1.0, 2.0, 3.0, 4.0], "bought": ["yes", "no", None, "yes"], "grade": [2, 0, 1, None],
                          "split": ["train", "train", "train", "test"]})
    config = DataConfig(file=str(write(frame, folder / "bought.csv")), split_column="split", validation_split=None,
                        columns={"age": "numeric"})
    source = file_data_source(config, [LabelColumn("bought", "binary", 1, "bought", "tasks[0].name"),
                                       LabelColumn("grade", "classification", 3, "grade", "tasks[1].name")])
    assert source.labels["bought"].vocabulary == ("no", "yes") and source.labels["grade"].vocabulary is None
    _, labels = rows(source, "train")
    np.testing.assert_array_equal(labels["bought"], np.array([1.0, 0.0, np.nan], "float32"))
    assert labels["grade"].tolist() == [2, 0, 1]
    assert rows(source, "test")[1]["grade"].tolist() == [-1]


def numeric_trunk(inputs):
    """A trunk over the numeric inputs only (no preprocessing to adapt)."""
    names = sorted(name for name, spec in inputs.items() if spec.feature_type == "numeric")
    stem = lambda tensors: keras.ops.stack([tensors[name] for name in names], axis=-1)
    return Trunk(blocks=[lambda prefix: keras.layers.Dense(4, activation="tanh", name=f"{prefix}_dense")], stem=stem)


def test_the_loss_of_each_task_ignores_its_empty_label_cells(folder):
    numeric = FRAME[["age", "price", "species", "clicked", "split"]].assign(height=FRAME.age / 10.0 - 3.0)
    config = DataConfig(file=str(write(numeric, folder / "numeric.csv")), split_column="split",
                        columns={"age": "numeric", "height": "numeric"})
    source = file_data_source(config, [label for label in LABELS if label.column != "price"]
                              + [LabelColumn("cost", "regression", 1, "price", "tasks[2].label")])
    keras.utils.set_random_seed(3)
    tasks = [Task("species", "classification", 3), Task("clicked", "binary"), Task("cost", "regression")]
    model = build_model(source.inputs, numeric_trunk(source.inputs), tasks)
    features, labels = next(iter(source.load("train").batch(100)))
    labels = {"species": labels["species"], "clicked": labels["clicked"], "cost": labels["price"]}
    losses, counts = model.compute_task_losses(labels, model(features))
    predictions = {name: value.numpy() for name, value in model(features).items()}

    species = labels["species"].numpy()
    seen = species != -1
    expected_species = -np.log(predictions["species"][seen, species[seen]]).mean()
    clicked = labels["clicked"].numpy()
    seen_clicks = ~np.isnan(clicked)
    probability = predictions["clicked"][seen_clicks, 0]
    expected_clicked = -(clicked[seen_clicks] * np.log(probability)
                         + (1 - clicked[seen_clicks]) * np.log(1 - probability)).mean()
    cost = labels["cost"].numpy()
    seen_costs = ~np.isnan(cost)
    expected_cost = ((predictions["cost"][seen_costs, 0] - cost[seen_costs]) ** 2).mean()

    assert float(losses["species"]) == pytest.approx(expected_species, rel=1e-5)
    assert float(losses["clicked"]) == pytest.approx(expected_clicked, rel=1e-5)
    assert float(losses["cost"]) == pytest.approx(expected_cost, rel=1e-5)
    assert {name: int(count) for name, count in counts.items()} == {"species": 5, "clicked": 5, "cost": 5}


def recipe_document(data):
    return {
        "name": "shop",
        "data": data,
        "tasks": [{"name": "species", "kind": "classification", "classes": 3}, {"name": "clicked", "kind": "binary"},
                  {"name": "cost", "kind": "regression", "label": "price"}],
        "model": {"trunk": "features", "trunk_options": {"units": [4]}},
        "training": {"epochs": 1, "batch_size": 4},
    }


def test_recipe_paths_start_at_the_recipe_folder_and_the_source_is_read_once(tmp_path, monkeypatch):
    (tmp_path / "recipes" / "data").mkdir(parents=True)
    write(FRAME, tmp_path / "recipes" / "data" / "shop.csv")
    recipe_path = tmp_path / "recipes" / "shop.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe_document(
        {"file": "data/shop.csv", "split_column": "split", "columns": COLUMNS})))
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(recipe_path)
    assert recipe.data.file == str(tmp_path / "recipes" / "data" / "shop.csv")
    source = recipe_data_source(recipe)
    assert source.labels["price"].kind == "regression" and recipe_data_source(load_recipe(recipe_path)) is source

    changed = FRAME.assign(age=FRAME.age + 1.0)
    write(changed, tmp_path / "recipes" / "data" / "shop.csv")
    stamp = os.stat(recipe.data.file).st_mtime_ns + 10**9
    os.utime(recipe.data.file, ns=(stamp, stamp))
    reread = recipe_data_source(recipe)
    assert reread is not source
    assert rows(reread, "train")[0]["age"].tolist() == (FRAME.age[:6] + 1.0).tolist()


def test_registered_data_sets_come_from_the_registry():
    from mtl_zoo.registry import DATASETS

    recipe = load_recipe("recipes/multidigits_hard.yaml")
    assert recipe_data_source(recipe) is DATASETS.get("multi_digits")


# (row id, change to the frame, change to the config, label columns, texts the message must hold)
def _set(column, row, value):
    def change(frame):
        frame = frame.astype({column: object})
        frame.loc[row, column] = value
        return frame

    return change


DATA_ERRORS = [
    ("missing_feature_column", None, {"columns": {"agee": "numeric", "city": "categorical"}}, LABELS,
     ["shop.csv: no column 'agee' (data.columns.agee); its columns: age, city, user_id"]),
    ("missing_label_column", None, {}, [LabelColumn("species", "classification", 3, "specie", "tasks[0].label")],
     ["shop.csv: no column 'specie' for the labels of task 'species' (tasks[0].label)"]),
    ("binary_value_three", _set("clicked", 0, 3), {}, LABELS,
     ["shop.csv: column 'clicked' (tasks[1].name): data row 1 holds", "binary labels are 0 or 1"]),
    ("regression_string", _set("price", 2, "cheap"), {}, LABELS,
     ["shop.csv: column 'price' (tasks[2].name): data row 3 holds 'cheap', not a number"]),
    ("more_classes_than_the_task", None, {}, [LabelColumn("species", "classification", 2, "species", "tasks[0].name")],
     ["shop.csv: column 'species' (tasks[0].name): 3 classes in the train split (rows whose 'split' is 'train') "
      "(Adelie, Chinstrap, Gentoo), more than the task's 2; set the task's classes to 3"]),
    ("class_index_too_large", None, {"columns": {"age": "numeric"}},
     [LabelColumn("grade", "classification", 2, "user_id", "tasks[0].label")],
     ["shop.csv: column 'user_id' (tasks[0].label): data row 1 holds 101; class indices must be whole numbers "
      "from 0 to 1"]),
    ("three_binary_names", None, {"columns": {"age": "numeric"}},
     [LabelColumn("city", "binary", 1, "city", "tasks[0].name")],
     ["shop.csv: column 'city' (tasks[0].name): 3 classes", "a binary label takes two values"]),
    ("text_in_numeric_feature", _set("age", 4, "forty"), {}, LABELS,
     ["shop.csv: column 'age' (data.columns.age): data row 5 holds 'forty', not a number", "declare the column"]),
    ("infinite_numeric_feature", _set("age", 1, float("inf")), {}, LABELS,
     ["shop.csv: column 'age' (data.columns.age): data row 2 holds inf; numeric features must be finite"]),
    ("class_not_in_training", _set("species", 9, "Emperor"), {}, LABELS,
     ["shop.csv: column 'species' (tasks[0].name): data row 10 holds 'Emperor', a class the training split "
      "does not have (classes: Adelie, Chinstrap, Gentoo)"]),
    ("no_validation_rows", lambda frame: frame.replace({"split": {"validation": "train"}}), {}, LABELS,
     ["shop.csv: column 'split' (data.split_column) names no rows of split 'validation' (data.validation_split); "
      "its splits: test, train"]),
    ("empty_split_cell", _set("split", 3, None), {}, LABELS,
     ["shop.csv: column 'split' (data.split_column) is empty in data row 4"]),
    ("missing_split_column", None, {"split_column": "fold"}, LABELS,
     ["shop.csv: no column 'fold' (data.split_column)"]),
    ("label_is_a_feature", None, {"columns": {"age": "numeric", "species": "categorical"}}, LABELS,
     ["column 'species' is a feature (data.columns.species) and the labels of task 'species' (tasks[0].name)"]),
    ("column_name_no_input_name", lambda frame: frame.rename(columns={"age": "age/years"}),
     {"columns": {"age/years": "numeric"}}, LABELS,
     ["column 'age/years' (data.columns.age/years) cannot name a model input: Keras takes no '/'"]),
    ("multilabel_from_a_column", None, {}, [LabelColumn("tags", "multilabel", 3, "clicked", "tasks[0].name")],
     ["shop.csv: column 'clicked' (tasks[0].name): a multilabel task cannot read its labels from one column"]),
]


@pytest.mark.parametrize("change, fields, labels, expected",
                         [pytest.param(*row[1:], id=row[0]) for row in DATA_ERRORS])
def test_data_problems_are_one_line_naming_file_and_column(tmp_path, change, fields, labels, expected):
    path = write(change(FRAME.copy()) if change else FRAME, tmp_path / "shop.csv")
    with pytest.raises(DataError) as error:
        file_data_source(split_column_config(path, **fields), labels)
    message = str(error.value)
    assert "\n" not in message
    for text in expected:
        assert text in message, message


def test_an_empty_split_is_refused(tmp_path):
    files = {"train": str(write(FRAME, tmp_path / "train.csv")),
             "validation": str(write(FRAME, tmp_path / "validation.csv")),
             "test": str(write(FRAME.iloc[:0], tmp_path / "test.csv"))}
    with pytest.raises(DataError, match=r"test.csv: the test split has no rows \(data.files.test\)"):
        file_data_source(DataConfig(files=files, columns=dict(COLUMNS)), LABELS)


def test_a_random_split_too_small_for_its_fraction_is_refused(tmp_path):
    config = DataConfig(file=str(write(FRAME, tmp_path / "shop.csv")), validation_fraction=0.01, test_fraction=0.3,
                        columns=dict(COLUMNS))
    with pytest.raises(DataError, match=r"shop.csv: the validation split has no rows "
                                        r"\(data.validation_fraction=0.01 of 10 rows\)"):
        file_data_source(config, LABELS)


@pytest.mark.parametrize("name, content, expected", [
    ("absent.csv", None, "absent.csv: no such file; check the path in the recipe"),
    ("broken.parquet", b"not a parquet file", "broken.parquet: cannot be read as PARQUET: "),
    ("shop.xlsx", b"PK", "shop.xlsx: unknown file type; name CSV files *.csv or *.tsv"),
    ("blank.csv", b"", "blank.csv: cannot be read as CSV: EmptyDataError"),
])
def test_unreadable_files_are_one_line(tmp_path, name, content, expected):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError) as error:
        file_data_source(split_column_config(tmp_path / name), LABELS)
    assert expected in str(error.value) and "\n" not in str(error.value)


# (row id, data section, texts the RecipeError must hold)
RECIPE_ERRORS = [
    ("name_and_file", {"name": "multi_digits", "file": "shop.csv", "split_column": "split", "columns": COLUMNS},
     "data: give exactly one of name (a registered data set), file (one CSV or Parquet file) or files"),
    ("neither", {"columns": COLUMNS}, "data: give exactly one of name"),
    ("file_fields_with_a_name", {"name": "multi_digits", "split_column": "split"},
     "data: split_column describe data files; a registered data set (name) takes none of them"),
    ("no_columns", {"file": "shop.csv", "split_column": "split"}, "data: columns is required with data files"),
    ("unknown_column_type", {"file": "shop.csv", "split_column": "split", "columns": {"age": "number"}},
     "data.columns.age: Input should be 'numeric', 'categorical', 'id' or 'text'"),
    ("boolean_fraction", {"file": "shop.csv", "test_fraction": True, "columns": COLUMNS},
     "data.test_fraction: Input should be a valid number"),
    ("no_way_to_split", {"file": "shop.csv", "columns": COLUMNS},
     "data: a single file needs split_column (a column naming each row's split) or test_fraction"),
    ("split_column_and_fractions", {"file": "shop.csv", "split_column": "split", "test_fraction": 0.2,
                                    "columns": COLUMNS}, "data: give split_column"),
    ("fractions_leave_no_training", {"file": "shop.csv", "validation_fraction": 0.5, "test_fraction": 0.5,
                                     "columns": COLUMNS}, "must leave rows for training. Received: 0.5 + 0.5"),
    ("validation_fraction_missing", {"file": "shop.csv", "test_fraction": 0.2, "columns": COLUMNS},
     "validation_fraction and validation_split go together"),
    ("files_without_a_split", {"files": {"train": "a.csv", "test": "b.csv"}, "columns": COLUMNS},
     "data: files has no file for split 'validation'"),
    ("files_and_split_column", {"files": {"train": "a.csv", "test": "b.csv"}, "split_column": "split",
                                "validation_split": None, "columns": COLUMNS}, "with files every split has its own"),
    ("data_dir_with_files", {"file": "shop.csv", "split_column": "split", "data_dir": "/tfds", "columns": COLUMNS},
     "data: data_dir is the TFDS folder of a registered data set"),
]


@pytest.mark.parametrize("data, expected", [pytest.param(d, e, id=i) for i, d, e in RECIPE_ERRORS])
def test_data_sections_that_name_no_layout_are_recipe_errors(data, expected):
    with pytest.raises(RecipeError) as error:
        validate_recipe(recipe_document(data), source="shop.yaml")
    message = str(error.value)
    assert message.startswith("shop.yaml: data") and "\n" not in message
    assert expected in message, message
