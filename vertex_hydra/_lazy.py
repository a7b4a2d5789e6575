"""Names of a package that load their module on first use (PEP 562), for light imports.

Example:
    >>> namespace = {}
    >>> getattr_, dir_ = lazy_names("pkg", {"sqrt": "math"}, namespace)
    >>> getattr_("sqrt")(9.0), namespace["sqrt"] is getattr_("sqrt"), dir_()
    (3.0, True, ['sqrt'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for ``names`` (name -> the module defining it).

    A name's module is imported on its first use, and the value is kept in
    ``namespace`` (the package's ``globals()``), so later uses cost nothing.

    Example:
        >>> __getattr__, __dir__ = lazy_names(__name__, {"plot": "x.plots"}, globals())  # doctest: +SKIP
    """

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
