"""How a value reads inside a one-sentence message: short, on one line, its kind named.

Example:
    >>> describe(float("inf")), describe("a\\nb"), describe([1])
    ('the float inf', "the text 'a\\\\nb'", 'a list')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["describe", "shown"]

_LONGEST = 60


def shown(value: Any) -> str:
    """``repr(value)`` on one line, cut to 60 characters.

    Example:
        >>> len(shown("x" * 100)), shown("x" * 100)[-4:]
        (60, 'x...')
    """
    text = repr(value)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def describe(value: Any) -> str:
    """``the text 'a b'``, ``a mapping``, ``a list``, ``the int 3``, or ``empty`` for ``None``.

    Example:
        >>> describe(None), describe({"a": 1}), describe(10**400)[:12]
        ('empty', 'a mapping', 'the int 1000')
    """
    if value is None:
        return "empty"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"the int {str(value)[:12]}... ({len(str(abs(value)))} digits)"
    return f"the {type(value).__name__} {shown(value)}"
