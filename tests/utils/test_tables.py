"""The shared text-table formatter: widths, alignment, header, trailing spaces and wrong shapes."""

import pytest

from mtl_zoo.utils.tables import format_table

ROWS = [["a", "0.9000", "3"], ["long_task", "12.5000", ""]]


def test_columns_are_as_wide_as_their_widest_cell_header_included():
    assert format_table(ROWS, header=["task", "accuracy", "n"]) == (
        "task       accuracy  n\n"
        "a          0.9000    3\n"
        "long_task  12.5000"
    )


def test_right_aligned_columns_line_up_digits():
    assert format_table(ROWS, header=["task", "accuracy", "n"], align=["left", "right", "right"]) == (
        "task       accuracy  n\n"
        "a            0.9000  3\n"
        "long_task   12.5000"
    )


def test_one_alignment_applies_to_every_column_and_only_trailing_spaces_go():
    assert format_table([["a", "bb"], ["ccc", "d"]], align="right") == (
        "  a  bb\n"
        "ccc   d"
    )


def test_min_widths_widen_narrow_columns_but_never_cut_cells():
    assert format_table([["x", "+0.5", "+123.4567"]], header=["", "x", "y"], align=["left", "right", "right"],
                        min_widths=[0, 8, 8]) == (
        "          x          y\n"
        "x      +0.5  +123.4567"
    )


def test_cells_that_are_not_strings_are_written_with_str():
    assert format_table([[1, None, 2.5]]) == "1  None  2.5"


def test_a_header_without_rows_and_an_empty_table():
    assert format_table([], header=["task", "loss"]) == "task  loss"
    assert format_table([]) == ""


@pytest.mark.parametrize("arguments, message", [
    ({"rows": [["a", "b"], ["c"]]}, r"one cell per column \(2, as in its first row\). Received: row=\['c'\]"),
    ({"rows": [["a", "b"]], "header": ["only"]}, r"Received: row=\['a', 'b'\]"),
    ({"rows": [["a", "b"]], "align": ["left"]}, r"one alignment per column \(2\).*Received: align=\['left'\]"),
    ({"rows": [["a", "b"]], "align": "center"}, r"\"left\" or \"right\". Received: align='center'"),
    ({"rows": [["a", "b"]], "min_widths": [3]}, r"one width per column \(2\). Received: min_widths=\[3\]"),
])
def test_wrong_shapes_and_alignments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        format_table(**arguments)
