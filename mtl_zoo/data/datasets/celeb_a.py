"""CelebA through `tfds.load("celeb_a")`: face images with 40 binary attributes, one task each.

For users who have CelebA in their TFDS data folder (its files come from
Google Drive and must be downloaded by hand; see the how-to line). Input
`image`: the raw 218x178 RGB uint8 photo (trunks resize inside the model).
Labels: the 40 attributes of Liu et al., 2015
(https://arxiv.org/abs/1411.7766) as `binary` tasks, named in lower case
(`5_o_Clock_Shadow` becomes `five_o_clock_shadow`), float32 0/1. Splits:
CelebA's own train / validation / test (162,770 / 19,867 / 19,962).

`ATTRIBUTE_GROUPS` groups the attributes by the face region they describe
(hair, eyes, nose, mouth and beard, face, accessories and global); the
`celeb_a_task_tree` recipe branches the trunk along these groups.

Example:

>>> from mtl_zoo.data.datasets.celeb_a import ATTRIBUTES, label_name
>>> len(ATTRIBUTES), label_name("5_o_Clock_Shadow")
(40, 'five_o_clock_shadow')
"""

from __future__ import annotations

from mtl_zoo.data.source import DataSource, InputSpec, LabelSpec
from mtl_zoo.registry import DATASETS

IMAGE_SHAPE = (218, 178, 3)
ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def label_name(attribute: str) -> str:
    """The task name of a CelebA attribute: lower case, a leading `5_` spelled `five_`."""
    name = attribute.lower()
    return "five" + name[1:] if name.startswith("5") else name


ATTRIBUTE_GROUPS = {
    "hair": ["bald", "bangs", "black_hair", "blond_hair", "brown_hair", "gray_hair", "receding_hairline",
             "straight_hair", "wavy_hair"],
    "eyes": ["arched_eyebrows", "bags_under_eyes", "bushy_eyebrows", "eyeglasses", "narrow_eyes"],
    "nose_and_cheeks": ["big_nose", "pointy_nose", "high_cheekbones", "rosy_cheeks"],
    "mouth_and_beard": ["five_o_clock_shadow", "big_lips", "goatee", "mouth_slightly_open", "mustache",
                        "no_beard", "sideburns", "smiling", "wearing_lipstick"],
    "face": ["attractive", "chubby", "double_chin", "heavy_makeup", "oval_face", "pale_skin"],
    "global": ["blurry", "male", "young", "wearing_earrings", "wearing_hat", "wearing_necklace",
               "wearing_necktie"],
}
HOW_TO_GET = (
    "CelebA is read through TFDS 'celeb_a', whose files must be downloaded by hand: run tfds.load('celeb_a') "
    "once on a machine with internet (or place the files in the TFDS manual folder) and copy the prepared "
    "celeb_a folder into the TFDS data folder (data.data_dir)."
)


def to_features_and_labels(example):
    """Maps a `celeb_a` TFDS example to `({"image": uint8}, {attribute task: float32 0/1})`.

    Example:

    >>> import tensorflow as tf
    >>> example = {"image": tf.zeros(IMAGE_SHAPE, tf.uint8),
    ...            "attributes": {name: tf.constant(name == "Male") for name in ATTRIBUTES}}
    >>> features, labels = to_features_and_labels(example)
    >>> float(labels["male"]), float(labels["young"]), len(labels)
    (1.0, 0.0, 40)
    """
    import tensorflow as tf

    return (
        {"image": example["image"]},
        {label_name(name): tf.cast(example["attributes"][name], tf.float32) for name in ATTRIBUTES},
    )


def load_split(split: str, data_dir=None):
    """Loads a CelebA split from the TFDS data folder as unbatched `(features, labels)` pairs.

    Example:

    >>> dataset = load_split("validation")  # doctest: +SKIP
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    dataset = tfds.load("celeb_a", split=split, data_dir=data_dir, shuffle_files=False)
    return dataset.map(to_features_and_labels, num_parallel_calls=tf.data.AUTOTUNE)


SOURCE = DATASETS.register(
    "celeb_a",
    DataSource(
        name="celeb_a",
        description="CelebA face photos with 40 binary attributes (needs the user's TFDS 'celeb_a').",
        inputs={"image": InputSpec(IMAGE_SHAPE, dtype="uint8", value_range=(0, 255),
                                   description="RGB face photo, raw uint8 pixel values")},
        labels={label_name(name): LabelSpec("binary", classes=1) for name in ATTRIBUTES},
        splits=("train", "validation", "test"),
        load=load_split,
        how_to_get=HOW_TO_GET,
    ),
)
