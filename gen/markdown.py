"""Markdown tables: the one writer of the reports (area, fpga, bench) and the ISA document."""

import re

__all__ = ["table"]

# A cell that reads as a number: digits with thousands separators, a sign, a decimal point or
# a percent sign, or a dash standing for "none".
_NUMBER = re.compile(r"^[-+]?[0-9][0-9,.]*%?$|^-?$")


def table(header, rows, align=None):
    """A Markdown table of ``rows`` (sequences of cells, each written with ``str``) under
    ``header`` (column titles), ending with a newline.

    ``align`` gives each column's alignment as a string of ``"l"`` (left) and ``"r"`` (right),
    one letter per column; ``None`` right-aligns the columns whose every cell reads as a number
    (``1,024``, ``-3.5``, ``+12.0%``, ``-``) and leaves the others as they are.
    Raises :class:`ValueError` when ``align`` or a row does not have one entry per column.
    """
    columns = len(header)
    rows = [list(row) for row in rows]
    for index, row in enumerate(rows):
        if len(row) != columns:
            raise ValueError(f"rows[{index}]: has {len(row)} cells; the header has {columns}")
    if align is None:
        right = [all(_NUMBER.match(str(row[i])) for row in rows) for i in range(columns)]
    else:
        if len(align) != columns or set(align) - {"l", "r"}:
            raise ValueError(f"align={align!r}: must be one 'l' or 'r' per column ({columns})")
        right = [letter == "r" for letter in align]
    lines = ["| " + " | ".join(map(str, header)) + " |",
             "|" + "|".join("---:" if flag else "---" for flag in right) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
