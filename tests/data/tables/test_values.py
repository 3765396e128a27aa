"""What a file holds is what the model gets: strings as written, missing markers, encodings, overflow, splits."""

import numpy as np
import pandas as pd
import pytest
import yaml

from mtl_zoo.data.tables.files import LabelColumn, evaluation_data_source, file_data_source
from mtl_zoo.errors import DataError
from mtl_zoo.recipes.loading import load_recipe
from mtl_zoo.recipes.schema import DataConfig

# Cells pandas would turn into blanks or numbers by default; a categorical, id or text column keeps them.
WRITTEN = ["NA", "None", "null", "NaN", "007", "", "n/a", "Oslo"]
TABLE = "\n".join([
    "city,code,note,age,grade,split",
    "NA,007,NA,31,A,train",
    "None,12,None,NA,B,train",
    "null,007,null,,NA,train",
    "NaN,12,NaN,?,A,train",
    "007,007,007,40.5,B,train",
    ",12,,-,,train",
    "n/a,007,n/a,N/A,A,validation",
    "Oslo,12,Oslo,27,B,test",
]) + "\n"
COLUMNS = {"city": "categorical", "code": "id", "note": "text", "age": "numeric"}
GRADE = [LabelColumn("grade", "classification", 3, "grade", "tasks[0].name")]


def features_of(source, split):
    features, labels = next(iter(source.load(split).batch(100)))
    decoded = {name: [item.decode() for item in value.numpy()] if value.dtype.name == "string" else value.numpy()
               for name, value in features.items()}
    return decoded, {name: value.numpy() for name, value in labels.items()}


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "cities.csv"
    path.write_text(TABLE)
    return path


def test_text_columns_keep_every_string_as_written_for_training_and_evaluation(table):
    source = file_data_source(DataConfig(file=str(table), split_column="split", columns=COLUMNS), GRADE)
    assert {name: spec.dtype for name, spec in source.inputs.items()} == {
        "city": "string", "code": "string", "note": "string", "age": "float32"}
    features, labels = features_of(source, "train")
    assert features["city"] == WRITTEN[:6] and features["note"] == WRITTEN[:6]
    assert features["code"] == ["007", "12", "007", "12", "007", "12"]
    # "NA" is a class name like "A" and "B" in a label column of names; a blank cell is a missing label.
    assert source.labels["grade"].vocabulary == ("A", "B", "NA")
    assert labels["grade"].tolist() == [0, 1, 2, 0, 1, -1]

    evaluated, _ = evaluation_data_source(
        table, COLUMNS, GRADE, input_dtypes={name: spec.dtype for name, spec in source.inputs.items()},
        vocabularies={"grade": source.labels["grade"].vocabulary})
    every_row, _ = features_of(evaluated, "data")
    assert every_row["city"] == WRITTEN and every_row["code"][:2] == ["007", "12"]


def test_numeric_columns_read_blank_cells_and_missing_markers_as_missing(table):
    source = file_data_source(DataConfig(file=str(table), split_column="split", columns=COLUMNS), [])
    ages = features_of(source, "train")[0]["age"]
    np.testing.assert_array_equal(ages, np.array([31, np.nan, np.nan, np.nan, 40.5, np.nan], "float32"))
    assert np.isnan(features_of(source, "validation")[0]["age"]).all()


def test_na_values_replaces_the_missing_markers(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text("age,tag,split\n31,a,train\nmissing,b,train\n,a,train\n27,b,test\n")
    config = DataConfig(file=str(path), split_column="split", validation_split=None, na_values=["missing"],
                        columns={"age": "numeric", "tag": "categorical"})
    assert np.isnan(features_of(file_data_source(config, []), "train")[0]["age"][1:]).all()

    path.write_text("age,tag,split\n31,a,train\nNA,b,train\n27,b,test\n")
    with pytest.raises(DataError, match=r"ages.csv: column 'age' \(data.columns.age\): data row 2 holds 'NA', "
                                        r"not a number"):
        file_data_source(config, [])


def test_label_columns_of_numbers_read_missing_markers_as_missing_labels(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("tag,clicked,price,split\na,1,9.5,train\nb,NA,NA,train\na,0,?,train\nb,,3,train\na,1,2,test\n")
    labels = [LabelColumn("clicked", "binary", 1, "clicked", "tasks[0].name"),
              LabelColumn("price", "regression", 1, "price", "tasks[1].name")]
    config = DataConfig(file=str(path), split_column="split", validation_split=None, columns={"tag": "categorical"})
    source = file_data_source(config, labels)
    _, values = features_of(source, "train")
    assert source.labels["clicked"].vocabulary is None
    np.testing.assert_array_equal(values["clicked"], np.array([1, np.nan, 0, np.nan], "float32"))
    np.testing.assert_array_equal(values["price"], np.array([9.5, np.nan, np.nan, 3], "float32"))


def test_a_value_beyond_float32_is_refused_naming_file_column_and_row(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("age,tag,split\n31,a,train\n1e300,b,train\n27,a,test\n")
    columns = {"age": "numeric", "tag": "categorical"}
    config = DataConfig(file=str(path), split_column="split", validation_split=None, columns=columns)
    with pytest.raises(DataError) as error:
        file_data_source(config, [])
    message = str(error.value)
    assert "huge.csv: column 'age' (data.columns.age): data row 2 holds 1e+300, beyond float32's range" in message
    assert "\n" not in message

    with pytest.raises(DataError, match=r"huge.csv: column 'age' \(data.columns.age\): data row 2 holds 1e\+300"):
        evaluation_data_source(path, columns, [], {"age": "float32", "tag": "string"}, {})


def test_files_in_another_encoding_are_read_with_data_encoding(tmp_path):
    path = tmp_path / "staedte.csv"
    path.write_bytes("stadt,größe,split\nMünchen,1,train\nKöln,2,train\nWürzburg,3,test\n".encode("latin-1"))
    columns = {"stadt": "categorical", "größe": "numeric"}
    with pytest.raises(DataError) as error:
        file_data_source(DataConfig(file=str(path), split_column="split", validation_split=None, columns=columns), [])
    assert "staedte.csv: cannot be read as utf-8 text" in str(error.value)
    assert "set data.encoding to the file's encoding (e.g. latin-1" in str(error.value)

    config = DataConfig(file=str(path), split_column="split", validation_split=None, columns=columns,
                        encoding="latin-1")
    assert features_of(file_data_source(config, []), "train")[0]["stadt"] == ["München", "Köln"]
    evaluated, _ = evaluation_data_source(path, columns, [], {"stadt": "string", "größe": "float32"}, {},
                                          encoding="latin-1")
    assert features_of(evaluated, "data")[0]["stadt"] == ["München", "Köln", "Würzburg"]


def test_an_unknown_encoding_is_a_recipe_error(tmp_path):
    from mtl_zoo.errors import RecipeError

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "cities", "data": {"file": "cities.csv", "split_column": "split", "columns": COLUMNS,
                                   "encoding": "klingon"},
        "tasks": [{"name": "grade", "kind": "classification", "classes": 3}],
        "model": {"trunk": "features"}, "training": {"epochs": 1}}))
    with pytest.raises(RecipeError, match=r"data.encoding: unknown text encoding; give a Python codec name"):
        load_recipe(recipe)


def test_files_with_validation_fraction_draw_the_validation_rows_from_the_train_file(tmp_path):
    frame = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) % 2})
    frame.iloc[:16].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[16:].to_csv(tmp_path / "test.csv", index=False)
    config = DataConfig(files={"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")},
                        validation_fraction=0.25, split_seed=3, columns={"x": "numeric"})
    labels = [LabelColumn("y", "binary", 1, "y", "tasks[0].name")]
    source = file_data_source(config, labels)
    assert sorted(source.splits) == ["test", "train", "validation"]
    train, validation = features_of(source, "train")[0]["x"], features_of(source, "validation")[0]["x"]
    assert len(train) == 12 and len(validation) == 4 and not set(train) & set(validation)
    assert set(train) | set(validation) == set(range(16))
    again = file_data_source(config, labels)
    assert features_of(again, "validation")[0]["x"].tolist() == validation.tolist()
    other_seed = file_data_source(config.model_copy(update={"split_seed": 4}), labels)
    assert features_of(other_seed, "validation")[0]["x"].tolist() != validation.tolist()


def test_evaluating_a_file_speaks_of_the_file_not_of_training(table, tmp_path):
    dtypes = {"city": "string", "code": "string", "note": "string", "age": "float32"}
    path = tmp_path / "new.csv"
    path.write_text(TABLE.replace("A,train", "C,train", 1))
    with pytest.raises(DataError) as error:
        evaluation_data_source(path, COLUMNS, GRADE, dtypes, {"grade": ("A", "B", "NA")})
    message = str(error.value)
    assert "new.csv: column 'grade' (tasks[0].name): data row 1 holds 'C', a class the model was not trained on " \
           "(classes: A, B, NA)" in message
    assert "training" not in message and "\n" not in message

    clicked = [LabelColumn("clicked", "binary", 1, "grade", "tasks[0].label")]
    with pytest.raises(DataError) as error:
        evaluation_data_source(table, COLUMNS, clicked, dtypes, {"grade": None})
    message = str(error.value)
    assert "data row 1 holds 'A', not a number; the model was trained on binary labels written as numbers" in message
    assert "every split" not in message

    graded = [LabelColumn("grade", "classification", 2, "grade", "tasks[0].label")]
    path.write_text("city,code,note,age,grade\nOslo,1,x,3,5\n")
    with pytest.raises(DataError, match=r"holds 5; class indices must be whole numbers from 0 to 1 "
                                        r"\(the model has 2\)"):
        evaluation_data_source(path, COLUMNS, graded, dtypes, {"grade": None})


@pytest.mark.parametrize("data, expected", [
    ({"files": {"train": "a.csv", "validation": "b.csv", "test": "c.csv"}, "validation_fraction": 0.2},
     "files gives the validation split its own file and validation_fraction draws it from the train file"),
    ({"files": {"train": "a.csv", "test": "c.csv"}, "validation_fraction": 0.2, "validation_split": None},
     "validation_fraction draws the validation split from the train file; set validation_split"),
    ({"files": {"train": "a.csv", "test": "c.csv"}, "test_fraction": 0.2, "validation_split": None},
     "split_column and test_fraction split one file; with files every split has its own file"),
])
def test_validation_fraction_with_files_is_checked_with_the_recipe(data, expected):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=expected):
        DataConfig(columns={"x": "numeric"}, **data)
