"""The real ``HyperparameterTuningJob`` protobuf class, without paying for its import every time.

Importing ``google.cloud.aiplatform_v1`` loads every service client (1.5 s of
CPU), which would dominate ``vertex-hydra check``. The first call imports it
once and saves the descriptors of ``HyperparameterTuningJob`` and its
dependencies (about 20 kB) in a cache keyed by the installed versions; later
calls rebuild the same message class from that file with ``protobuf`` alone,
in a few milliseconds. Parsing with either class gives identical messages.

Example:
    >>> message = tuning_job_message()  # doctest: +SKIP
    >>> message.DESCRIPTOR.full_name  # doctest: +SKIP
    'google.cloud.aiplatform.v1.HyperparameterTuningJob'
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import Any

__all__ = ["tuning_job_message", "load_message", "cache_dir", "CACHE_ENV", "FULL_NAME"]

#: Environment variable that overrides the cache folder.
CACHE_ENV = "VERTEX_HYDRA_CACHE_DIR"
#: The protobuf name of the message a job file holds.
FULL_NAME = "google.cloud.aiplatform.v1.HyperparameterTuningJob"


def cache_dir() -> Path:
    """Where descriptor caches live: ``$VERTEX_HYDRA_CACHE_DIR``, else the user's cache folder.

    Example:
        >>> cache_dir().name  # doctest: +SKIP
        'vertex-hydra'
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "vertex-hydra"


def _cloud_extra_installed() -> bool:
    try:
        return importlib.util.find_spec("google.cloud.aiplatform_v1") is not None
    except (ImportError, ValueError):
        return False


def tuning_job_message() -> Any | None:
    """The protobuf message class of ``HyperparameterTuningJob``, or ``None`` without the cloud extra.

    Example:
        >>> tuning_job_message() is None or tuning_job_message().DESCRIPTOR.name == "HyperparameterTuningJob"
        True
    """
    if not _cloud_extra_installed():
        return None
    return _cached_message()


@functools.lru_cache(maxsize=1)
def _cached_message() -> Any | None:
    return load_message(cache_dir())


def _versions() -> str:
    try:
        return "-".join(
            importlib.metadata.version(name) for name in ("google-cloud-aiplatform", "protobuf")
        )
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def load_message(folder: Path) -> Any | None:
    """Build the message class from the descriptor cache in ``folder``, writing it if absent.

    Args:
        folder: The cache folder; an unwritable folder only costs speed.

    Returns:
        The message class, or ``None`` when ``google-cloud-aiplatform`` cannot be imported.

    Example:
        >>> cls = load_message(Path("/tmp/vertex-hydra-cache"))  # doctest: +SKIP
    """
    versions = _versions()
    path = folder / f"hyperparameter_tuning_job-{versions}.pb"
    if versions != "unknown" and path.is_file():
        try:
            return _from_descriptors(path.read_bytes())
        except Exception:  # noqa: BLE001, S110 - a damaged cache is rebuilt below
            pass
    try:
        from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
    except ImportError:
        return None
    message = HyperparameterTuningJob.pb()
    if versions != "unknown":
        _write(path, _descriptors(message))
    return message


def _descriptors(message: Any) -> bytes:
    from google.protobuf import descriptor_pb2

    ordered: list[Any] = []
    seen: set[str] = set()

    def visit(file: Any) -> None:  # dependencies first: a pool adds files in that order
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            visit(dependency)
        ordered.append(file)

    visit(message.DESCRIPTOR.file)
    files = descriptor_pb2.FileDescriptorSet()
    for file in ordered:
        file.CopyToProto(files.file.add())
    data: bytes = files.SerializeToString()
    return data


def _from_descriptors(data: bytes) -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(FULL_NAME))


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)  # atomic: parallel checks never read half a file
    except OSError:
        pass  # a read-only home only makes the next check slower
