"""Which launcher starts a job's trials: one process each, or one process per replica.

The scheduler (:mod:`vertex_hydra.local.study`) asks :func:`launcher_for` once
and starts every trial through what it returns; a new kind of trial is a new
:class:`~vertex_hydra.local.trial.TrialLauncher` chosen here.

Example:
    >>> from vertex_hydra.jobspec import JobSpec
    >>> job = JobSpec.from_dict({
    ...     "studySpec": {"metrics": [{"metricId": "acc", "goal": "MAXIMIZE"}],
    ...                   "parameters": [{"parameterId": "x",
    ...                                   "doubleValueSpec": {"minValue": 0, "maxValue": 1}}]},
    ...     "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i",
    ...                                                             "command": ["t"]}}]}})
    >>> type(launcher_for(job, Path("runs/a"))).__name__
    'ProcessLauncher'
"""

from __future__ import annotations

from pathlib import Path

from vertex_hydra.jobspec import JobSpec
from vertex_hydra.local.replicas import ReplicaLauncher
from vertex_hydra.local.trial import ProcessLauncher, TrialLauncher

__all__ = ["launcher_for"]


def launcher_for(job: JobSpec, workdir: Path) -> TrialLauncher:
    """The launcher for the job's trials: one process, or one per replica of pools 0 and 1."""
    counts = job.replica_counts
    if len(counts) > 1 and counts[1] > 0:
        return ReplicaLauncher(job, workdir)
    return ProcessLauncher(job, workdir)
