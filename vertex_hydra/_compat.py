"""Lightning namespace and version gates, computed in one place.

Lightning ships the same code under two import names: ``lightning.pytorch``
(the ``lightning`` package) and ``pytorch_lightning``. Their ``Trainer``s
accept a callback only if ``isinstance(callback, Callback)`` holds for *their*
``Callback``, so :func:`callback_base` returns one class that derives from every
installed namespace's ``Callback`` (they are plain classes with identical hooks,
so the MRO is trivial).

Example:
    >>> from vertex_hydra._compat import available_namespaces
    >>> set(available_namespaces()) <= {"lightning.pytorch", "pytorch_lightning"}
    True
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re

__all__ = ["MIN_VERSION", "NAMESPACES", "available_namespaces", "callback_base"]

#: Import names of Lightning, in order of preference.
NAMESPACES = ("lightning.pytorch", "pytorch_lightning")
#: Oldest supported Lightning release (the ``Callback`` hook set of 2.0).
MIN_VERSION = (2, 0)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _distribution(namespace: str) -> str:
    return namespace.split(".", 1)[0]


def available_namespaces() -> tuple[str, ...]:
    """Return the Lightning import names that are installed, without importing them.

    Returns:
        A subset of :data:`NAMESPACES`, in the same order.

    Example:
        >>> "torch" in available_namespaces()
        False
    """
    return tuple(
        name for name in NAMESPACES if importlib.util.find_spec(_distribution(name)) is not None
    )


@functools.lru_cache(maxsize=None)
def callback_base() -> type:
    """Return a base class that is a ``Callback`` for every installed Lightning namespace.

    Namespaces older than :data:`MIN_VERSION` are left out.

    Returns:
        A class deriving from ``lightning.pytorch.Callback`` and/or
        ``pytorch_lightning.Callback``.

    Raises:
        ImportError: Neither ``lightning>=2.0`` nor ``pytorch-lightning>=2.0`` is installed.

    Example:
        >>> import lightning.pytorch as L  # doctest: +SKIP
        >>> issubclass(callback_base(), L.Callback)  # doctest: +SKIP
        True
    """
    bases: list[type] = []
    found: list[str] = []
    for name in available_namespaces():
        package = importlib.import_module(_distribution(name))
        version = str(getattr(package, "__version__", "0"))
        found.append(f"{_distribution(name)} {version}")
        if _version_tuple(version) >= MIN_VERSION:
            bases.append(importlib.import_module(name).Callback)
    if not bases:
        raise ImportError(
            "vertex_hydra.HypertuneCallback needs lightning>=2.0 or pytorch-lightning>=2.0; "
            f"found: {', '.join(found) or 'neither'}. Fix: pip install 'vertex-hydra[lightning]'."
        )
    return type(
        "LightningCallback",
        tuple(bases),
        {"__module__": __name__, "__doc__": "``Callback`` of every installed Lightning namespace."},
    )
