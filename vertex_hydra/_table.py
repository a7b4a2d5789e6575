"""A tiny plain-text table renderer, with optional ANSI colour.

No dependency beyond the standard library, so every command can print a table
(``check`` prints one row per parameter; ``local`` can print one per trial).

Example:
    >>> print(layout_table(["name", "status"], [["lr", "OK"], ["batch_size", "bad"]]))
    name        status
    ----------  ------
    lr          OK
    batch_size  bad
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["layout_table", "colorize", "use_color", "COLORS"]

#: ANSI SGR codes by name, for :func:`colorize` and the ``colors`` of :func:`layout_table`.
COLORS: dict[str, str] = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "bold": "1",
    "dim": "2",
}


def colorize(text: str, color: str | None) -> str:
    """Wrap ``text`` in the ANSI codes of ``color`` (a key of :data:`COLORS`).

    Example:
        >>> colorize("OK", "green")
        '\\x1b[32mOK\\x1b[0m'
        >>> colorize("OK", None)
        'OK'
    """
    if not color:
        return text
    return f"\x1b[{COLORS[color]}m{text}\x1b[0m"


def use_color(stream: TextIO | None = None, *, disabled: bool = False) -> bool:
    """Whether to colour output on ``stream``: a terminal, not ``--no-color``, no ``NO_COLOR``.

    Example:
        >>> import io
        >>> use_color(io.StringIO())
        False
    """
    stream = stream if stream is not None else sys.stdout
    if disabled or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def layout_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    colors: Sequence[Sequence[str | None]] | None = None,
) -> str:
    """Lay out ``rows`` under ``headers`` in left-aligned columns.

    A cell may hold several lines (``"a\\nb"``); its row then spans as many lines.
    Widths are computed on the plain text, so colours never misalign columns.

    Args:
        headers: Column titles.
        rows: One sequence of cell texts per row, as long as ``headers``.
        colors: Optional colour name (or ``None``) per cell, same shape as ``rows``.

    Returns:
        The table without a trailing newline.

    Raises:
        ValueError: A row or a colour row does not have one cell per header.

    Example:
        >>> print(layout_table(["a", "b"], [["x\\ny", "1"]]))
        a  b
        -  -
        x  1
        y
    """
    width = len(headers)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"layout_table: row {i} has {len(row)} cells, expected {width} "
                f"(one per header {list(headers)}). Fix: pad or trim the row."
            )
    if colors is not None and [len(c) for c in colors] != [width] * len(rows):
        raise ValueError(
            "layout_table: colors must have the shape of rows (one entry per cell). "
            "Fix: pass None for cells without colour."
        )
    split = [[cell.split("\n") for cell in row] for row in rows]
    widths = [
        max([len(headers[c])] + [len(line) for cells in split for line in cells[c]])
        for c in range(width)
    ]
    lines = [_join(list(headers), widths), _join(["-" * w for w in widths], widths)]
    for r, cells in enumerate(split):
        height = max(len(cell) for cell in cells)
        for h in range(height):
            texts = [cell[h] if h < len(cell) else "" for cell in cells]
            shades = list(colors[r]) if colors is not None else [None] * width
            lines.append(_join(texts, widths, shades))
    return "\n".join(lines)


def _join(texts: list[str], widths: list[int], shades: Sequence[str | None] | None = None) -> str:
    shades = shades or [None] * len(texts)
    cells = [
        colorize(text, shade if text else None) + " " * (w - len(text))
        for text, w, shade in zip(texts, widths, shades)
    ]
    return "  ".join(cells).rstrip()
