"""Backend ``export``: write the study as ``<sweep dir>/job.yaml`` and run nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec

__all__ = ["export"]


def export(job: JobSpec, sweep_dir: Path, *, stream: TextIO) -> Path:
    """Write ``job.raw`` as YAML; the file passes ``vertex-hydra check`` and runs under ``local``.

    Raises:
        ConfigurationError: ``hydra.sweeper.vertex.image_uri`` is not set, or the
            sweep dir cannot be written.
    """
    import yaml

    pool = job.worker_pool.get("containerSpec") or {}
    if pool.get("imageUri") in (None, "", "local"):
        raise ConfigurationError(
            "hydra.sweeper.backend=export needs the trial image: hydra.sweeper.vertex.image_uri is "
            "not set. Fix: set it to the image Vertex AI runs, e.g. "
            "REGION-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG."
        )
    path = sweep_dir / "job.yaml"
    # The trial command is relative to the app's folder (the image's working dir), and check
    # and local run it in the job file's folder: the file belongs next to the app.
    here = Path.cwd()
    hint = (
        f"To check or run it here, copy it into {here} (the trial command runs from there): "
        f"cp {path} {here}/job.yaml, then vertex-hydra check job.yaml, vertex-hydra local "
        "job.yaml or vertex-hydra submit job.yaml"
    )
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(dict(job.raw), sort_keys=False, allow_unicode=True)
        path.write_text(
            f"# Written by hydra/sweeper: vertex (backend export).\n# {hint}.\n" + text,
            encoding="utf-8",
        )
    except OSError as error:
        raise ConfigurationError(
            f"cannot write {path}: {error.strerror or error}. Fix: set hydra.sweep.dir to a "
            "folder you can write to."
        ) from None
    stream.write(f"Job file: {path}\n{hint}.\n")
    return path
