"""OmegaConf resolvers for trials on Vertex AI, registered from ``import vertex_hydra`` on.

``${vertex_hydra.last_checkpoint:}`` is the newest Lightning checkpoint (``*.ckpt``)
under ``AIP_CHECKPOINT_DIR``, or ``null`` when there is none. Vertex AI restarts a
trial's process when a Spot VM is preempted or when
``scheduling.restartJobOnWorkerRestart`` is set; with this line the restarted
process resumes from where the first one stopped instead of from scratch:

.. code-block:: yaml

    # configs/train.yaml (lightning-hydra-template shape)
    ckpt_path: ${vertex_hydra.last_checkpoint:}

    callbacks:
      model_checkpoint:
        dirpath: ${oc.env:AIP_CHECKPOINT_DIR,checkpoints}
        save_last: true

A ``gs://bucket/path`` folder is read through Vertex's Cloud Storage FUSE mount,
``/gcs/bucket/path``. An argument names another folder:
``${vertex_hydra.last_checkpoint:/some/dir}``.

Example:
    >>> import os, pathlib, tempfile
    >>> from omegaconf import OmegaConf
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> OmegaConf.create({"ckpt": "${vertex_hydra.last_checkpoint:" + str(folder) + "}"}).ckpt is None
    True
    >>> _ = (folder / "epoch=1.ckpt").write_bytes(b"x")
    >>> OmegaConf.create({"ckpt": "${vertex_hydra.last_checkpoint:" + str(folder) + "}"}).ckpt
    ... # doctest: +ELLIPSIS
    '.../epoch=1.ckpt'
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "LAST_CHECKPOINT",
    "last_checkpoint",
    "gcs_fuse_path",
    "register_resolvers",
    "register_when_imported",
]

#: The resolver's name: ``${vertex_hydra.last_checkpoint:}``.
LAST_CHECKPOINT = "vertex_hydra.last_checkpoint"
_GCS_PREFIX = "gs://"
_FUSE_ROOT = "/gcs/"


def gcs_fuse_path(location: str) -> str:
    """The local path of ``location``: ``gs://bucket/x`` becomes Vertex's FUSE mount ``/gcs/bucket/x``.

    Example:
        >>> gcs_fuse_path("gs://my-bucket/hpt/3/checkpoints/")
        '/gcs/my-bucket/hpt/3/checkpoints/'
        >>> gcs_fuse_path("/tmp/ckpt")
        '/tmp/ckpt'
    """
    if location.startswith(_GCS_PREFIX):
        return _FUSE_ROOT + location[len(_GCS_PREFIX) :]
    return location


def last_checkpoint(folder: str | os.PathLike[str] | None = None) -> str | None:
    """The newest non-empty ``*.ckpt`` file under ``folder`` (default ``AIP_CHECKPOINT_DIR``).

    Newest by modification time; among files written at the same instant,
    Lightning's ``last.ckpt`` wins. Sub-folders are searched too.

    Args:
        folder: Where to look; ``None`` or empty reads ``AIP_CHECKPOINT_DIR``.

    Returns:
        The checkpoint's path, or ``None`` when the folder is unset, missing or
        holds no checkpoint.

    Example:
        >>> last_checkpoint("/no/such/folder") is None
        True
    """
    location = os.fspath(folder) if folder else os.environ.get("AIP_CHECKPOINT_DIR", "")
    if not location:
        return None
    root = Path(gcs_fuse_path(location))
    if not root.is_dir():
        return None
    candidates: list[tuple[int, bool, str]] = []
    for path in root.rglob("*.ckpt"):
        try:
            stat = path.stat()
        except OSError:  # removed while we looked (a checkpoint rotated out)
            continue
        if path.is_file() and stat.st_size > 0:
            candidates.append((stat.st_mtime_ns, path.name == "last.ckpt", str(path)))
    return max(candidates)[2] if candidates else None


def register_resolvers() -> None:
    """Register the resolvers with OmegaConf now (idempotent; see :func:`register_when_imported`).

    Example:
        >>> from omegaconf import OmegaConf
        >>> register_resolvers()
        >>> OmegaConf.has_resolver(LAST_CHECKPOINT)
        True
    """
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(LAST_CHECKPOINT):
        OmegaConf.register_new_resolver(LAST_CHECKPOINT, last_checkpoint)


class _AfterOmegaConf:
    """A finder that steps aside for OmegaConf's import, then registers the resolvers at its end."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "omegaconf":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # by the finders there would be without this one
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:  # pragma: no cover - every loader of a package file has it
            return spec

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            register_resolvers()

        loader.exec_module = exec_then_register  # type: ignore[union-attr]
        return spec


def register_when_imported() -> None:
    """Register the resolvers now if OmegaConf is loaded, or as soon as it is imported.

    ``import vertex_hydra`` calls it, so that importing vertex-hydra does not
    import OmegaConf (about 90 ms that ``vertex-hydra local``, say, never
    needs), yet no config can be made before the resolvers exist: OmegaConf's
    own import ends by registering them.

    Example:
        >>> register_when_imported()
        >>> from omegaconf import OmegaConf
        >>> OmegaConf.has_resolver(LAST_CHECKPOINT)
        True
    """
    if "omegaconf" in sys.modules:
        register_resolvers()
    elif not any(isinstance(f, _AfterOmegaConf) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterOmegaConf())  # type: ignore[arg-type]
