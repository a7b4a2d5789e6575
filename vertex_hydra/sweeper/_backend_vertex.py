"""Backend ``vertex``: ``check``, then create the same ``HyperparameterTuningJob`` ``submit`` sends."""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from vertex_hydra.errors import ConfigurationError, MissingDependencyError
from vertex_hydra.jobspec import JobSpec

__all__ = ["submit"]


def _has_aiplatform() -> bool:
    try:
        return importlib.util.find_spec("google.cloud.aiplatform_v1") is not None
    except ModuleNotFoundError:  # no google namespace at all
        return False


def _preflight(job: JobSpec, stream: TextIO) -> None:
    """``vertex-hydra check`` on the job, from a job file next to the script (the working dir).

    ``check`` runs the trial command in the job file's folder, which must be
    where ``python app.py`` works: the current directory. The file is removed after.
    """
    import yaml

    from vertex_hydra.cloud._cli import run_preflight

    handle, name = tempfile.mkstemp(prefix=".vertex-hydra-sweep-", suffix=".yaml", dir=os.getcwd())
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yaml.safe_dump(dict(job.raw), out, sort_keys=False)
        run_preflight(name, stream)
    finally:
        Path(name).unlink(missing_ok=True)


def submit(job: JobSpec, sweep_dir: Path, vertex: Mapping[str, Any], *, stream: TextIO) -> str:
    """Build the request body; print it (``dry_run``) or check and submit it.

    Returns:
        The created job's resource name (empty for ``dry_run``).

    Raises:
        ConfigurationError: No image, project or region; the check found problems;
            the body breaks the schema.
        CloudError: Vertex AI refused the request or cannot be reached.
    """
    from vertex_hydra.cloud import build_request_body, submit_job

    if (job.worker_pool.get("containerSpec") or {}).get("imageUri") in (None, "", "local"):
        raise ConfigurationError(
            "hydra.sweeper.backend=vertex needs the trial image: hydra.sweeper.vertex.image_uri "
            "is not set. Fix: set it to the image Vertex AI runs, e.g. "
            "REGION-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG."
        )
    if not vertex.get("dry_run"):
        missing = [k for k in ("project", "region") if not vertex.get(k)]
        if missing:
            raise ConfigurationError(
                f"hydra.sweeper.backend=vertex needs hydra.sweeper.vertex.{missing[0]}. Fix: set "
                f"hydra.sweeper.vertex.{missing[0]} (or hydra.sweeper.vertex.dry_run=true to "
                "print the request only)."
            )
    if not _has_aiplatform():
        raise MissingDependencyError(
            "hydra.sweeper.backend=vertex needs google-cloud-aiplatform, which is not installed. "
            'Fix: pip install "vertex-hydra[cloud]"'
        )
    body = build_request_body(job.raw, display_name=str(job.display_name))
    if vertex.get("dry_run"):
        stream.write(json.dumps(body, indent=2) + "\n")
        return ""
    if vertex.get("check", True):
        _preflight(job, stream)
    name = submit_job(
        body,
        project=str(vertex["project"]),
        region=str(vertex["region"]),
        api_endpoint=vertex.get("api_endpoint") or None,
    )
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / "vertex_job.json").write_text(
        json.dumps({"name": name, "request": body}, indent=2) + "\n", encoding="utf-8"
    )
    stream.write(f"Submitted: {name}\nFollow it with: vertex-hydra results {name}\n")
    stream.flush()
    if vertex.get("wait"):
        _follow(name, sweep_dir, vertex, stream)
    return name


def _follow(name: str, sweep_dir: Path, vertex: Mapping[str, Any], stream: TextIO) -> None:
    """Follow the job to its end, then write the results into the sweep dir as ``local`` does.

    Raises:
        CloudError: The job ended in another state than SUCCEEDED.
    """
    from omegaconf import OmegaConf

    from vertex_hydra.cloud import StateChange, fetch_results, wait_for_job
    from vertex_hydra.cloud._cli import format_change
    from vertex_hydra.errors import CloudError
    from vertex_hydra.results import render
    from vertex_hydra.sweeper._backend_local import optimization_results

    endpoint = vertex.get("api_endpoint") or None

    def show(change: StateChange) -> None:
        stream.write(format_change(change) + "\n")

    final = wait_for_job(
        name,
        observer=show,
        poll_interval=float(vertex.get("poll_interval") or 30.0),
        api_endpoint=endpoint,
    )
    results = fetch_results(name, api_endpoint=endpoint)
    render(results, sweep_dir, stream)
    OmegaConf.save(
        OmegaConf.create(optimization_results(results)), sweep_dir / "optimization_results.yaml"
    )
    state = (final or {}).get("state")
    if state != "JOB_STATE_SUCCEEDED":
        why = ((final or {}).get("error") or {}).get("message") or "no error message"
        raise CloudError(
            f"the job {name} ended in {state}: {why}. Fix: read the trial logs on the Vertex AI "
            "console, then run the sweep again."
        )
