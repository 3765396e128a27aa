"""Feature types are declared once (`mtl_zoo.feature_types`); every table keyed by them has every one."""

import typing

import pydantic
import pytest

from mtl_zoo.data.tables.values import FEATURE_DTYPES
from mtl_zoo.feature_types import FEATURE_TYPES
from mtl_zoo.recipes.schema import FEATURE_TYPE, DataConfig
from mtl_zoo.trunks.features import COLUMN_TYPES


@pytest.mark.parametrize("table", [COLUMN_TYPES, FEATURE_DTYPES], ids=["trunks.features", "data.tables.values"])
def test_every_declared_feature_type_has_an_entry_in_the_table(table):
    assert sorted(table) == sorted(FEATURE_TYPES)


def test_recipes_take_exactly_the_declared_feature_types():
    assert typing.get_args(FEATURE_TYPE) == FEATURE_TYPES
    with pytest.raises(pydantic.ValidationError, match="Input should be 'numeric', 'categorical', 'id' or 'text'"):
        DataConfig(file="a.csv", columns={"bill": "number"})
