"""Lightning namespace and version gates, computed in one place.

Lightning ships the same code under two import names: ``lightning.pytorch``
(the ``lightning`` package) and ``pytorch_lightning``. Their ``Trainer``s
accept a callback only if ``isinstance(callback, Callback)`` holds for *their*
``Callback``, so :func:`callback_base` returns one class that derives from every
installed namespace's ``Callback`` (they are plain classes with identical hooks,
so the MRO is trivial). Cluster environments are the same story one level down:
``lightning.fabric``'s and ``lightning_fabric``'s ``ClusterEnvironment``, joined by
:func:`cluster_environment_base`.

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
import sys
from types import ModuleType
from typing import Any

from vertex_hydra.errors import MissingDependencyError

__all__ = [
    "MIN_VERSION",
    "NAMESPACES",
    "available_namespaces",
    "callback_base",
    "cluster_environment_base",
    "lightning_environment",
]

#: Import names of Lightning, in order of preference.
NAMESPACES = ("lightning.pytorch", "pytorch_lightning")
#: Oldest supported Lightning release (the ``Callback`` hook set of 2.0).
MIN_VERSION = (2, 0)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _distribution(namespace: str) -> str:
    return namespace.split(".", 1)[0]


def _installed_version(namespace: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_distribution(namespace).replace("_", "-"))
    except PackageNotFoundError:
        return "0"


def available_namespaces() -> tuple[str, ...]:
    """Return the Lightning import names that are installed, without importing them.

    Returns:
        A subset of :data:`NAMESPACES`, in the same order.

    Example:
        >>> available_namespaces()  # doctest: +SKIP
        ('lightning.pytorch', 'pytorch_lightning')
    """
    return tuple(
        name for name in NAMESPACES if importlib.util.find_spec(_distribution(name)) is not None
    )


def _import_all(names: tuple[str, ...]) -> dict[str, ModuleType]:
    # Each namespace points lightning_utilities' *shared* rank-zero logger (and
    # deprecation category) at itself when imported. Importing the second one
    # must not redirect the messages of the one the user works with: keep the
    # state of a namespace already loaded, else let lightning.pytorch win.
    loaded = any(name in sys.modules for name in names)
    try:
        shared: ModuleType | None = importlib.import_module("lightning_utilities.core.rank_zero")
    except ImportError:
        shared = None
    keys = ("log", "rank_zero_deprecation_category")
    saved = {key: getattr(shared, key) for key in keys if hasattr(shared, key)}
    modules = {name: importlib.import_module(name) for name in reversed(names)}
    if loaded and shared is not None:
        for key, value in saved.items():
            setattr(shared, key, value)
    return modules


def _supported_namespaces(user: str) -> tuple[str, ...]:
    found: list[str] = []
    supported: list[str] = []
    for name in available_namespaces():
        version = _installed_version(name)
        found.append(f"{_distribution(name)} {version}")
        if _version_tuple(version) >= MIN_VERSION:
            supported.append(name)
    if not supported:
        raise MissingDependencyError(
            f"{user} needs lightning>=2.0 or pytorch-lightning>=2.0; "
            f"found: {', '.join(found) or 'neither'}. Fix: pip install 'vertex-hydra[lightning]'."
        )
    return tuple(supported)


def _union_base(attribute: str, submodule: str, name: str, user: str) -> type:
    """Return one class deriving from ``<namespace>[.submodule].<attribute>`` of every namespace."""
    supported = _supported_namespaces(user)
    _import_all(supported)
    paths = [f"{namespace}.{submodule}" if submodule else namespace for namespace in supported]
    bases = tuple(getattr(importlib.import_module(path), attribute) for path in paths)
    doc = f"``{attribute}`` of every installed Lightning namespace."
    return type(name, bases, {"__module__": __name__, "__doc__": doc})


@functools.cache
def callback_base() -> type:
    """Return a base class that is a ``Callback`` for every installed Lightning namespace.

    Namespaces older than :data:`MIN_VERSION` are left out.

    Returns:
        A class deriving from ``lightning.pytorch.Callback`` and/or
        ``pytorch_lightning.Callback``.

    Raises:
        MissingDependencyError: Neither ``lightning>=2.0`` nor ``pytorch-lightning>=2.0`` is installed.

    Example:
        >>> import lightning.pytorch as L  # doctest: +SKIP
        >>> issubclass(callback_base(), L.Callback)  # doctest: +SKIP
        True
    """
    return _union_base("Callback", "", "LightningCallback", "vertex_hydra.HypertuneCallback")


@functools.cache
def cluster_environment_base() -> type:
    """Return a base class that is a ``ClusterEnvironment`` for every installed Lightning namespace.

    ``lightning.pytorch`` uses ``lightning.fabric``'s ``ClusterEnvironment`` and
    ``pytorch_lightning`` uses ``lightning_fabric``'s; a ``Trainer`` (or
    ``Fabric``) takes a plugin as its cluster environment only if it is an
    instance of its own. Both are abstract classes with the same methods.
    Namespaces older than :data:`MIN_VERSION` are left out.

    Returns:
        A class deriving from ``lightning.fabric.plugins.environments.ClusterEnvironment``
        and/or ``lightning_fabric.plugins.environments.ClusterEnvironment``.

    Raises:
        MissingDependencyError: Neither ``lightning>=2.0`` nor ``pytorch-lightning>=2.0`` is installed.

    Example:
        >>> from lightning.fabric.plugins.environments import ClusterEnvironment
        >>> issubclass(cluster_environment_base(), ClusterEnvironment)  # doctest: +SKIP
        True
    """
    return _union_base(
        "ClusterEnvironment",
        "plugins.environments",
        "LightningClusterEnvironment",
        "vertex_hydra.VertexEnvironment",
    )


def lightning_environment() -> Any:
    """Return a new ``LightningEnvironment`` (Lightning's default) of the preferred namespace.

    The preferred namespace is the first of :data:`NAMESPACES` that is installed
    and supported.

    Returns:
        A fresh ``LightningEnvironment`` instance.

    Raises:
        MissingDependencyError: Neither ``lightning>=2.0`` nor ``pytorch-lightning>=2.0`` is installed.

    Example:
        >>> lightning_environment().node_rank()  # doctest: +SKIP
        0
    """
    namespace = _supported_namespaces("vertex_hydra.VertexEnvironment")[0]
    module = importlib.import_module(f"{namespace}.plugins.environments")
    return module.LightningEnvironment()
