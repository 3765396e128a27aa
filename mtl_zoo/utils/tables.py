"""Aligned text tables: the one formatter behind every table the zoo prints.

Columns are two spaces apart and as wide as their widest cell; text reads
best left-aligned, numbers right-aligned so their digits line up. Trailing
spaces are dropped, so a table pastes cleanly into a log or a README.

Example:

>>> print(format_table([["a", "0.9000"], ["long_task", "12.5000"]],
...                    header=["task", "accuracy"], align=["left", "right"]))
task       accuracy
a            0.9000
long_task   12.5000
"""

from __future__ import annotations

ALIGNMENTS = ("left", "right")
SEPARATOR = "  "


def format_table(rows, header=None, align="left", min_widths=None) -> str:
    """Lines up rows of cells in columns, two spaces apart.

    Each column is as wide as its widest cell, header included, and at least
    its `min_widths` entry. Cells that are not strings are written with `str`.

    Args:
        rows: list of sequences. The table's body, one cell per column in
            each row.
        header: sequence, optional. Column titles, one per column, aligned
            like the body. Defaults to None (no header line).
        align: str or sequence of str. "left" or "right": one for every
            column, or one per column. Defaults to "left".
        min_widths: sequence of int, optional. Smallest width of each
            column. Defaults to None (each column as wide as its widest cell).

    Returns:
        The table's lines joined by newlines; "" when it has no header and no rows.

    Raises:
        ValueError: a row, `align` or `min_widths` does not have one entry per
            column, or an alignment is neither "left" nor "right".

    Example:

    >>> print(format_table([["shared", 1200], ["private to a", 36]], align=["left", "right"]))
    shared        1200
    private to a    36
    >>> print(format_table([["x", "+0.5"]], header=["", "x"], align="right", min_widths=[0, 8]))
              x
    x      +0.5
    """
    lines = ([list(header)] if header is not None else []) + [list(row) for row in rows]
    if not lines:
        return ""
    cells = [[str(cell) for cell in line] for line in lines]
    num_columns = len(cells[0])
    for line in cells[1:]:
        if len(line) != num_columns:
            raise ValueError(f"Every row of a table needs one cell per column ({num_columns}, as in its first "
                             f"row). Received: row={line}")
    alignments = column_alignments(align, num_columns)
    widths = [max(len(line[index]) for line in cells) for index in range(num_columns)]
    if min_widths is not None:
        if len(min_widths) != num_columns:
            raise ValueError(f"`min_widths` needs one width per column ({num_columns}). "
                             f"Received: min_widths={list(min_widths)}")
        widths = [max(width, minimum) for width, minimum in zip(widths, min_widths)]
    return "\n".join(
        SEPARATOR.join(cell.rjust(width) if alignment == "right" else cell.ljust(width)
                       for cell, width, alignment in zip(line, widths, alignments)).rstrip()
        for line in cells
    )


def column_alignments(align, num_columns: int) -> list:
    """`align` as one alignment per column, checked.

    Args:
        align: str or sequence of str. "left" or "right", for every column or one per column.
        num_columns: int. Columns of the table.

    Example:

    >>> column_alignments("right", 2), column_alignments(["left", "right"], 2)
    (['right', 'right'], ['left', 'right'])
    """
    alignments = [align] * num_columns if isinstance(align, str) else list(align)
    if len(alignments) != num_columns:
        raise ValueError(f"`align` needs one alignment per column ({num_columns}), or one string for all of them. "
                         f"Received: align={align!r}")
    unknown = [alignment for alignment in alignments if alignment not in ALIGNMENTS]
    if unknown:
        raise ValueError(f"A column is aligned \"left\" or \"right\". Received: align={align!r}")
    return alignments
