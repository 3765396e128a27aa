"""Validation rows held out of the training split, for a recipe that stops early and has no validation split.

`training.early_stopping` watches validation metrics. A recipe without a
validation split (`data.validation_split: null`) gets one held out of its
training split: `training.early_stopping.validation_fraction` (0.1 when not
given) of the training rows, drawn with `data.split_seed` by
`mtl_zoo.data.tables.splits.draw_rows`, the same draw a train file's
`data.validation_fraction` makes. It works alike for registered data sets
and files, as it acts on the loaded split's rows in their stored order.

`split_examples` is how the library reads a recipe's split: the training
split without the held-out rows (so they are never trained on, and the trunk
adapts its preprocessing to the other rows only) and the held-out split by
its name, `held_out_split(recipe)` (e.g. `train[0.1 held out]`).

Example:

>>> import tensorflow as tf
>>> rows = tf.data.Dataset.from_tensor_slices(({"x": list(range(10))}, {"y": [0.0] * 10}))
>>> held = [int(f["x"]) for f, _ in hold_out(rows, 0.2, seed=0, held_out=True, where="example")]
>>> kept = [int(f["x"]) for f, _ in hold_out(rows, 0.2, seed=0, held_out=False, where="example")]
>>> len(held), len(kept), sorted(held + kept) == list(range(10))
(2, 8, True)
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from mtl_zoo.data.tables.splits import draw_rows
from mtl_zoo.errors import DataError

# Share of the training rows held out when `training.early_stopping.validation_fraction` is not given.
DEFAULT_VALIDATION_FRACTION = 0.1


def held_out_fraction(recipe) -> Optional[float]:
    """The share of the training rows held out to validate on, or None when the recipe holds none out.

    Rows are held out only for `training.early_stopping` in a recipe without
    `data.validation_split`.
    """
    stopping = recipe.training.early_stopping
    if stopping is None or recipe.data.validation_split is not None:
        return None
    return DEFAULT_VALIDATION_FRACTION if stopping.validation_fraction is None else stopping.validation_fraction


def held_out_split(recipe) -> Optional[str]:
    """The name of the held-out validation split (e.g. `train[0.1 held out]`), or None when there is none."""
    fraction = held_out_fraction(recipe)
    return None if fraction is None else f"{recipe.data.train_split}[{fraction:g} held out]"


def validation_split(recipe) -> Optional[str]:
    """The split a run validates on: `data.validation_split`, else the held-out one, else None."""
    return recipe.data.validation_split or held_out_split(recipe)


def hold_out(examples, fraction: float, seed: int, held_out: bool, where: str):
    """The held-out rows of a split (`held_out=True`), or the others.

    Args:
        examples: `tf.data.Dataset`. The split's unbatched, finite examples,
            always in the same order.
        fraction: float. Share of the rows held out, in (0, 1).
        seed: int. Seed of the draw (`draw_rows`).
        held_out: bool. Return the held-out rows (True) or the others.
        where: str. The split and recipe, for the message if a part is empty.

    Returns:
        An unbatched `tf.data.Dataset` of the chosen rows, in stored order,
        with a known size.

    Raises:
        DataError: the split is too small to give both parts a row.
    """
    import tensorflow as tf

    size = int(examples.cardinality())
    if size < 0:  # unknown size: count one pass
        size = int(examples.reduce(0, lambda count, _: count + 1))
    drawn, rest = draw_rows(size, fraction, seed)
    if len(drawn) == 0 or len(rest) == 0:
        raise DataError(
            f"{where}: training.early_stopping.validation_fraction={fraction:g} of its {size} rows leaves "
            f"{'no validation' if len(drawn) == 0 else 'no training'} rows; change the fraction or give "
            f"data.validation_split. Received: {size} rows"
        )
    rows = drawn if held_out else rest
    keep = np.zeros(size, dtype=bool)
    keep[rows] = True
    keep = tf.constant(keep)
    return (
        examples.enumerate()
        .filter(lambda index, example: keep[index])
        .map(lambda index, example: example)
        .apply(tf.data.experimental.assert_cardinality(len(rows)))
    )


def split_examples(recipe, split: str, data_set=None):
    """The unbatched `(features, labels)` examples of a recipe's split, its held-out rows taken into account.

    The training split loses the held-out rows (`held_out_fraction`); the
    held-out split (`held_out_split`) is those rows; any other split is the
    data set's own.

    Args:
        recipe: `Recipe`. Supplies the data set, its folder and the split names.
        split: str. A split of the data set, or the held-out split's name.
        data_set: `DataSource` or None. Where to read the split from.
            Defaults to the recipe's (`recipe_data_source`).

    Example:

    >>> from mtl_zoo.recipes.loading import load_recipe
    >>> recipe = load_recipe("recipes/multidigits_hard.yaml", ["data.validation_split=null",
    ...                      "training.early_stopping={patience: 2}"])  # doctest: +SKIP
    >>> int(split_examples(recipe, "train[0.1 held out]").cardinality())  # doctest: +SKIP
    1200
    """
    from mtl_zoo.data.tables.files import recipe_data_source

    data_set = data_set or recipe_data_source(recipe)
    data = recipe.data
    fraction = held_out_fraction(recipe)
    held = held_out_split(recipe)
    if fraction is None or split not in (data.train_split, held):
        return data_set.load_split(split, data_dir=data.data_dir)
    train = data_set.load_split(data.train_split, data_dir=data.data_dir)
    return hold_out(train, fraction, data.split_seed, held_out=split == held,
                    where=f"Data set '{data_set.name}' (split '{data.train_split}', recipe {recipe.source})")
