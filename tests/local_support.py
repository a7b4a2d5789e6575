"""Shared helpers for tests/test_local*.py: job files around the fixture app, and log reading."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import yaml

APP = Path(__file__).resolve().parent / "apps" / "local_app" / "app.py"


def write_job(
    folder: Path,
    parameters: list[dict[str, Any]],
    *,
    args: list[str] = (),  # type: ignore[assignment]
    metrics: list[dict[str, str]] | None = None,
    max_trials: int = 4,
    parallel: int = 1,
    max_failed: int | None = None,
    base_output: bool = False,
    **study: Any,
) -> Path:
    """Write ``folder/job.yaml`` whose trials run the fixture app with ``args``."""
    folder.mkdir(parents=True, exist_ok=True)
    job: dict[str, Any] = {
        "displayName": "fixture",
        "maxTrialCount": max_trials,
        "parallelTrialCount": parallel,
        "studySpec": {
            "metrics": metrics or [{"metricId": "score", "goal": "MAXIMIZE"}],
            "parameters": parameters,
            **study,
        },
        "trialJobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": 1,
                    "containerSpec": {
                        "imageUri": "img",
                        "command": ["python", str(APP)],
                        "args": [f"log={folder / 'log.jsonl'}", *args],
                    },
                }
            ]
        },
    }
    if max_failed is not None:
        job["maxFailedTrialCount"] = max_failed
    if base_output:
        job["trialJobSpec"]["baseOutputDirectory"] = {"outputUriPrefix": "gs://bucket/hpt"}
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    return path


def read_log(folder: Path) -> list[dict[str, Any]]:
    """The fixture app's start/end events, in order."""
    path = folder / "log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


PYTHON = sys.executable
