"""OmegaConf resolvers for trials on Vertex AI, registered on ``import vertex_hydra``.

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

import os
from pathlib import Path

__all__ = ["LAST_CHECKPOINT", "last_checkpoint", "gcs_fuse_path", "register_resolvers"]

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
    """Register the resolvers with OmegaConf (idempotent; ``import vertex_hydra`` calls it).

    Example:
        >>> from omegaconf import OmegaConf
        >>> register_resolvers()
        >>> OmegaConf.has_resolver(LAST_CHECKPOINT)
        True
    """
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(LAST_CHECKPOINT):
        OmegaConf.register_new_resolver(LAST_CHECKPOINT, last_checkpoint)
