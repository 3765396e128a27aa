"""CrossColumns: one string key per pair of values, never the same for two different pairs."""

import numpy as np

from mtl_zoo.layers.wide import CrossColumns


def test_cross_keys_name_each_pair_exactly_for_strings_and_integers():
    first = np.array(["ab", "a", "", "x:", "é"], dtype=object)
    second = np.array(["c", "bc", "abc", "1", ""], dtype=object)
    keys = CrossColumns()([first, second]).numpy().tolist()
    assert len(set(keys)) == len(keys)  # "ab"+"c", "a"+"bc" and ""+"abc" differ
    assert keys[0] == b"2:abc" and keys[4] == "2:é".encode()  # lengths in bytes
    integers = CrossColumns()([np.array([1, 11], "int64"), np.array([11, 1], "int64")]).numpy().tolist()
    assert integers == [b"1:111", b"2:111"]
    assert CrossColumns.from_config(CrossColumns(name="c").get_config()).name == "c"
