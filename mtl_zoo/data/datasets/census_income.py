"""Census income (KDD): income, marital status and education of US census respondents.

The UCI census-income (KDD) data set (https://archive.ics.uci.edu/dataset/117/census+income+kdd),
the benchmark of the MMoE paper (Ma et al. KDD 2018,
https://dl.acm.org/doi/10.1145/3219819.3220007), read from its own files,
which a user downloads: `census-income.data` (199,523 rows) and
`census-income.test` (99,762 rows), 42 comma-separated columns, no header
(gzip-compressed `.gz` copies are read as well). Put both in a folder and
name it as the recipe's `data.data_dir`.

Labels (the MMoE paper's tasks):
- `income` (binary: total person income above $50,000);
- `never_married` (binary: marital status "Never married");
- `college` (binary: attended college, with or without a degree).

Inputs: the other columns as raw values, 7 numeric (`age`, `wage_per_hour`,
`capital_gains`, `capital_losses`, `dividends`, `employer_size`,
`weeks_worked`) and 29 categorical (coded columns such as the industry code
are categories too; "?" and "Not in universe" are categories of their own).
Left out: the label columns (income, marital status, education), the
instance weight (a sampling weight, not a property of the person) and the
two household-status columns, whose values spell out the marital status
("Spouse of householder", "Child <18 never marr not in subfamily").

Splits, as in the paper: `train` is census-income.data; census-income.test is
cut in two halves at random (fixed seed), `validation` and `test`.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> sorted(DATASETS.get("census_income").labels)
['college', 'income', 'never_married']
>>> DATASETS.get("census_income").load_split("train", data_dir="data/census")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from mtl_zoo.data.datasets.frame_source import frame_source
from mtl_zoo.data.source import InputSpec, LabelSpec
from mtl_zoo.errors import DataError
from mtl_zoo.registry import DATASETS

TRAIN_FILE, TEST_FILE = "census-income.data", "census-income.test"
HOMEPAGE = "https://archive.ics.uci.edu/dataset/117/census+income+kdd"
SPLIT_SEED = 1994

# The 42 columns of the files, in order.
COLUMNS = (
    "age", "class_of_worker", "industry_code", "occupation_code", "education", "wage_per_hour",
    "enrolled_in_school", "marital_status", "major_industry", "major_occupation", "race", "hispanic_origin",
    "sex", "labor_union", "unemployment_reason", "employment_status", "capital_gains", "capital_losses",
    "dividends", "tax_filer_status", "previous_region", "previous_state", "household_family_status",
    "household_summary", "instance_weight", "migration_msa", "migration_region", "migration_within_region",
    "same_house_last_year", "migration_sunbelt", "employer_size", "family_under_18", "father_birth_country",
    "mother_birth_country", "birth_country", "citizenship", "self_employed", "veterans_questionnaire",
    "veterans_benefits", "weeks_worked", "year", "income_band",
)
NUMERIC_COLUMNS = ("age", "wage_per_hour", "capital_gains", "capital_losses", "dividends", "employer_size",
                   "weeks_worked")
NOT_INPUTS = ("education", "marital_status", "income_band", "instance_weight", "household_family_status",
              "household_summary")
CATEGORICAL_COLUMNS = tuple(name for name in COLUMNS if name not in NUMERIC_COLUMNS + NOT_INPUTS)
INCOME_BANDS = {"- 50000.": 0.0, "50000+.": 1.0}
NEVER_MARRIED = "Never married"
COLLEGE_EDUCATION = (
    "Some college but no degree", "Associates degree-occup /vocational", "Associates degree-academic program",
    "Bachelors degree(BA AB BS)", "Masters degree(MA MS MEng MEd MSW MBA)",
    "Prof school degree (MD DDS DVM LLB JD)", "Doctorate degree(PhD EdD)",
)

INPUTS = {
    **{name: InputSpec((), "float32", description=name.replace("_", " "), feature_type="numeric")
       for name in NUMERIC_COLUMNS},
    **{name: InputSpec((), "string", description=name.replace("_", " "), feature_type="categorical")
       for name in CATEGORICAL_COLUMNS},
}
LABELS = {
    "income": LabelSpec("binary"),
    "never_married": LabelSpec("binary"),
    "college": LabelSpec("binary"),
}
HOW_TO_GET = (f"Download {TRAIN_FILE} and {TEST_FILE} (UCI census-income KDD, {HOMEPAGE}) into one folder "
              "and set the recipe's data.data_dir to it (e.g. --set data.data_dir=data/census_income).")


def find_file(data_dir: Optional[str], name: str) -> Path:
    """The path of `name` (or `name.gz`) in `data_dir`; raises `DataError` saying where to put it."""
    if data_dir is None:
        raise DataError(f"census_income reads its files from data.data_dir, which is not set. {HOW_TO_GET}")
    for candidate in (Path(data_dir) / name, Path(data_dir) / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{Path(data_dir) / name} not found. {HOW_TO_GET} Received: data_dir={str(data_dir)!r}")


def read_census_file(path: Path) -> pd.DataFrame:
    """Reads one census-income file into a frame of inputs and labels; raises `DataError` naming the file.

    Args:
        path: Path. A census-income.data / .test file (42 columns, no header).

    Returns:
        A frame with one column per input (numbers as float32, categories as
        str) and the labels `income`, `never_married` and `college` (float32).
    """
    try:
        raw = pd.read_csv(path, header=None, names=list(COLUMNS), skipinitialspace=True, keep_default_na=False,
                          dtype={name: str for name in COLUMNS if name not in NUMERIC_COLUMNS})
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise DataError(f"{path}: not a census-income file with {len(COLUMNS)} comma-separated columns: "
                        f"{first_line}") from None
    bands = raw["income_band"].map(INCOME_BANDS)
    if bands.isna().any():
        row = int(np.flatnonzero(bands.isna().to_numpy())[0])
        raise DataError(
            f"{path}: line {row + 1}: the last of the {len(COLUMNS)} columns must be the income band "
            f"('- 50000.' or '50000+.'); is a column missing or extra? Received: {raw['income_band'].iloc[row]!r}"
        )
    frame = pd.DataFrame({name: raw[name].astype(np.float32) for name in NUMERIC_COLUMNS})
    for name in CATEGORICAL_COLUMNS:
        frame[name] = raw[name].astype(str)
    frame["income"] = bands.astype(np.float32)
    frame["never_married"] = (raw["marital_status"] == NEVER_MARRIED).astype(np.float32)
    frame["college"] = raw["education"].isin(COLLEGE_EDUCATION).astype(np.float32)
    return frame


@functools.lru_cache(maxsize=2)
def _cached_frames(train_path: Path, test_path: Path, modified: tuple) -> dict:
    train, other = read_census_file(train_path), read_census_file(test_path)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(other))
    half = len(other) // 2
    return {
        "train": train,
        "validation": other.iloc[order[:half]].reset_index(drop=True),
        "test": other.iloc[order[half:]].reset_index(drop=True),
    }


def census_frames(data_dir: Optional[str]) -> dict:
    """Split name -> frame, read from the files in `data_dir` (cached per process while the files are unchanged).

    Args:
        data_dir: str or None. The folder holding census-income.data and
            census-income.test (or their `.gz`).

    Returns:
        `{"train": ..., "validation": ..., "test": ...}`; validation and test
        are the two halves of census-income.test.

    Example:

    >>> census_frames(None)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    mtl_zoo.errors.DataError: census_income reads its files from data.data_dir, which is not set. ...
    """
    train_path, test_path = find_file(data_dir, TRAIN_FILE), find_file(data_dir, TEST_FILE)
    modified = (train_path.stat().st_mtime_ns, test_path.stat().st_mtime_ns)
    return _cached_frames(train_path.resolve(), test_path.resolve(), modified)


SOURCE = DATASETS.register("census_income", frame_source(
    "census_income",
    "UCI census-income (KDD), your copy in data.data_dir: income > 50k, never_married, college (MMoE paper).",
    INPUTS,
    LABELS,
    census_frames,
    how_to_get=HOW_TO_GET,
))
