"""Census income (KDD): the loader on small files written in the UCI format, and its one-line errors."""

import io
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

from mtl_zoo.data.datasets.census_income import COLUMNS, census_frames
from mtl_zoo.errors import DataError
from mtl_zoo.registry import DATASETS

# A row of census-income.data as UCI ships it: 42 values after ", ".
ROW = ("73, Not in universe, 0, 0, High school graduate, 0, Not in universe, Widowed, Not in universe or "
       "children, Not in universe, White, All other, Female, Not in universe, Not in universe, Not in labor "
       "force, 0, 0, 0, Nonfiler, Not in universe, Not in universe, Other Rel 18+ ever marr not in subfamily, "
       "Other relative of householder, 1700.09, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in "
       "universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in "
       "universe, 2, 0, 95, - 50000.")
EDUCATION = ["High school graduate", "Bachelors degree(BA AB BS)", "Some college but no degree", "Children",
             "Doctorate degree(PhD EdD)", "10th grade"]
MARITAL = ["Widowed", "Never married", "Married-civilian spouse present", "Divorced"]


def person(index: int) -> tuple:
    """Row `index` of the written files and its expected (income, never_married, college) labels."""
    values = ROW.split(", ")
    values[0] = str(20 + index % 60)
    values[4] = EDUCATION[index % len(EDUCATION)]
    values[7] = MARITAL[index % len(MARITAL)]
    values[16] = str(index * 100)  # capital gains
    values[-1] = "50000+." if index % 5 == 0 else "- 50000."
    labels = (float(index % 5 == 0), float(values[7] == "Never married"), float(index % len(EDUCATION) in (1, 2, 4)))
    return ", ".join(values), labels


def write_census_files(folder, train_rows=60, test_rows=30):
    """Writes census-income.data and census-income.test; returns the expected labels per file."""
    expected = {}
    for name, indices in (("census-income.data", range(train_rows)),
                          ("census-income.test", range(1000, 1000 + test_rows))):
        rows = [person(index) for index in indices]
        (folder / name).write_text("".join(f"{line}\n" for line, _ in rows))
        expected[name] = {index: labels for index, (_, labels) in zip(indices, rows)}
    return expected


@pytest.fixture(scope="module")
def census_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("census_income")
    return folder, write_census_files(folder)


def test_the_written_row_has_the_42_columns_of_the_files():
    assert len(ROW.split(", ")) == len(COLUMNS) == 42


def test_labels_and_splits(census_dir):
    folder, expected = census_dir
    frames = census_frames(str(folder))
    assert [len(frames[split]) for split in ("train", "validation", "test")] == [60, 15, 15]
    train = frames["train"]
    labels = np.array(list(expected["census-income.data"].values()), dtype="float32")
    np.testing.assert_array_equal(train[["income", "never_married", "college"]].to_numpy(), labels)
    np.testing.assert_array_equal(train["capital_gains"], np.arange(60) * 100.0)
    held_out = np.concatenate([frames["validation"]["capital_gains"], frames["test"]["capital_gains"]])
    assert sorted(held_out) == [index * 100.0 for index in range(1000, 1030)]  # the halves of the test file


def test_label_columns_and_household_status_are_not_inputs():
    inputs = DATASETS.get("census_income").inputs
    assert len(inputs) == 36
    assert not {"education", "marital_status", "income_band", "instance_weight", "household_family_status",
                "household_summary"} & set(inputs)
    assert inputs["age"].feature_type == "numeric" and inputs["industry_code"].feature_type == "categorical"


def test_the_source_feeds_raw_values_with_unknowns_as_a_category(census_dir):
    folder, _ = census_dir
    features, labels = next(iter(DATASETS.get("census_income").load_split("train", data_dir=str(folder))))
    assert features["migration_msa"].numpy() == b"?" and features["class_of_worker"].numpy() == b"Not in universe"
    assert float(features["age"]) == 20.0 and labels["income"].dtype.name == "float32"


@pytest.mark.parametrize("data_dir, message", [
    (None, "census_income reads its files from data.data_dir, which is not set. Download census-income.data"),
    ("missing_folder", "census-income.data not found. Download census-income.data and census-income.test"),
])
def test_missing_files_say_where_to_put_them(tmp_path, data_dir, message):
    folder = None if data_dir is None else str(tmp_path / data_dir)
    with pytest.raises(DataError, match=message) as error:
        DATASETS.get("census_income").load_split("test", data_dir=folder)
    assert "\n" not in str(error.value) and "data.data_dir" in str(error.value)


def test_a_row_with_a_missing_column_names_the_file_and_line(tmp_path):
    write_census_files(tmp_path, train_rows=5, test_rows=4)
    lines = (tmp_path / "census-income.test").read_text().splitlines()
    lines[2] = lines[2].rsplit(", ", 2)[0] + ", - 50000."  # one value short
    (tmp_path / "census-income.test").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"census-income.test: line 3: the last of the 42 columns must be the income"):
        census_frames(str(tmp_path))


def test_the_recipe_trains_on_the_written_files(census_dir):
    from mtl_zoo.cli import main

    folder, _ = census_dir
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as errors:
        status = main(["train", "census_income_mmoe", "--output", str(folder / "artifact_missing_data"),
                       "--set", f"data.data_dir={folder / 'nowhere'}"])
    assert status == 2 and "census-income.data not found" in errors.getvalue()

    from mtl_zoo.recipes.loading import load_recipe
    from mtl_zoo.training.run import train_recipe

    recipe = load_recipe("census_income_mmoe", [f"data.data_dir={folder}", "training.epochs=1"])
    result = train_recipe(recipe)
    assert result.train_examples == 60
    assert set(result.test_metrics) == {"income", "never_married"}
    assert all(0.0 <= metrics["auc"] <= 1.0 for metrics in result.test_metrics.values())
