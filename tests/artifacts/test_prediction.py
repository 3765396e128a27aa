"""`mtl-zoo predict ARTIFACT --data FILE`: class names and probabilities for rows without labels."""

import shutil

import numpy as np
import pandas as pd
import tensorflow as tf
import yaml

import mtl_zoo

FEATURES = {"island": str, "bill_length_mm": "float32", "bill_depth_mm": "float32", "body_mass_g": "float32",
            "year": "int64"}


def model_outputs(artifact, frame):
    model = mtl_zoo.load_model(artifact / "model.keras")
    return {name: value.numpy() for name, value in model(
        {name: tf.constant(frame[name].to_numpy(dtype)) for name, dtype in FEATURES.items()}).items()}


def test_predict_writes_class_names_probabilities_and_values_per_task(penguins, tmp_path, run):
    folder, artifact, unlabelled = penguins
    status, output, errors = run(["predict", str(artifact), "--data", str(folder / "unlabelled.csv"),
                                  "--output", str(tmp_path / "predictions.csv")])
    assert status == 0, errors
    assert output.startswith(f"Wrote {tmp_path / 'predictions.csv'} ({len(unlabelled)} rows; columns species, ")
    written = pd.read_csv(tmp_path / "predictions.csv", keep_default_na=False)
    assert list(written.columns) == [
        "species", "species_probability_Adelie", "species_probability_Chinstrap", "species_probability_Gentoo",
        "sex", "sex_probability_male", "flipper_length_mm", "heavy", "heavy_probability"]
    expected = model_outputs(artifact, unlabelled)
    species = expected["species"]
    np.testing.assert_allclose(written[["species_probability_Adelie", "species_probability_Chinstrap",
                                        "species_probability_Gentoo"]].to_numpy(), species, atol=1e-6)
    assert written.species.tolist() == np.array(["Adelie", "Chinstrap", "Gentoo"])[species.argmax(axis=1)].tolist()
    np.testing.assert_allclose(written.sex_probability_male, expected["sex"][:, 0], atol=1e-6)
    assert written.sex.tolist() == np.where(expected["sex"][:, 0] >= 0.5, "male", "female").tolist()
    np.testing.assert_allclose(written.flipper_length_mm, expected["flipper_length_mm"][:, 0], rtol=1e-6)
    assert written.heavy.tolist() == (expected["heavy"][:, 0] >= 0.5).astype(int).tolist()
    np.testing.assert_allclose(written.heavy_probability, expected["heavy"][:, 0], atol=1e-6)


def test_predict_ignores_label_columns_and_writes_parquet(penguins, tmp_path, run):
    folder, artifact, _ = penguins
    status, _, errors = run(["predict", str(artifact), "--data", str(folder / "penguins.csv"),
                             "--output", str(tmp_path / "all.parquet")])
    assert status == 0, errors
    written = pd.read_parquet(tmp_path / "all.parquet")
    assert len(written) == 344 and set(written.species) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_predict_prints_a_preview_without_output(penguins, run):
    folder, artifact, unlabelled = penguins
    status, output, _ = run(["predict", str(artifact), "--data", str(folder / "unlabelled.csv")])
    assert status == 0
    lines = output.splitlines()
    assert lines[0] == f"tiny_penguins on {folder / 'unlabelled.csv'}: {len(unlabelled)} rows; the first 10:"
    assert lines[1].split()[:2] == ["species", "species_probability_Adelie"]
    assert len(lines) == 1 + 1 + 10 + 1 and lines[-1].startswith("Pass --output FILE")


def test_predict_refuses_to_overwrite_without_the_flag(penguins, tmp_path, run):
    folder, artifact, _ = penguins
    target = tmp_path / "predictions.csv"
    target.write_text("keep me\n")
    command = ["predict", str(artifact), "--data", str(folder / "unlabelled.csv"), "--output", str(target)]
    status, _, errors = run(command)
    assert status == 2 and errors == [f"mtl-zoo: error: {target} exists; pass --overwrite to replace it or --output "
                                      f"another file. Received: --output {str(target)!r}"]
    assert target.read_text() == "keep me\n"
    assert run(command + ["--overwrite"])[0] == 0
    assert target.read_text().startswith("species,")


def test_predict_refuses_an_unknown_output_format(penguins, tmp_path, run):
    folder, artifact, _ = penguins
    status, _, errors = run(["predict", str(artifact), "--data", str(folder / "unlabelled.csv"),
                             "--output", str(tmp_path / "predictions.xlsx")])
    assert status == 2 and len(errors) == 1
    assert errors[0].startswith("mtl-zoo: error: --output: name the predictions file *.csv, *.tsv, *.parquet or *.pq")


def test_predict_names_a_missing_feature_column(penguins, tmp_path, run):
    folder, artifact, unlabelled = penguins
    unlabelled.drop(columns=["island"]).to_csv(tmp_path / "no_island.csv", index=False)
    status, _, errors = run(["predict", str(artifact), "--data", str(tmp_path / "no_island.csv")])
    assert status == 2 and len(errors) == 1
    assert errors[0].startswith(f"mtl-zoo: error: {tmp_path / 'no_island.csv'}: no column 'island'")


def test_predict_on_an_artifact_of_a_registered_data_set_says_it_reads_tables(penguins, tmp_path, run):
    folder, artifact, _ = penguins
    copy = tmp_path / "registered"
    shutil.copytree(artifact, copy)
    recipe = yaml.safe_load((copy / "recipe.yaml").read_text())
    recipe["data"] = {"name": "multi_digits"}
    (copy / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    status, _, errors = run(["predict", str(copy), "--data", str(folder / "unlabelled.csv")])
    assert status == 2 and len(errors) == 1, errors
    assert errors[0].startswith(f"mtl-zoo: error: --data: predict reads tables (CSV or Parquet files with the "
                                f"columns of a recipe's data.columns), but {copy} was trained on the registered data "
                                "set 'multi_digits'")
