"""Which fields of a job file ``local`` and ``check`` rehearse, and which they do not (one table).

:data:`FIELDS` lists every field of ``HyperparameterTuningJob`` (and of the
messages inside it) that vertex-hydra knows, each with how it is rehearsed or
why it is not. :func:`unrehearsed_fields` walks a job file and returns each
field that is present and not rehearsed, once; a field missing from the table
is reported too, as one vertex-hydra does not know, so that no field is ever
silently passed as OK. ``check`` prints them as notes, ``local`` at study start,
both as ``not rehearsed here: <path> — <reason>`` (:meth:`Unrehearsed.line`).

Paths are written as in the file (camelCase); ``[*]`` stands for any index of
a list. A field set to its default (``false``, ``0``, ``""``, an empty list)
is not reported: Vertex AI reads it as unset. An empty message (``{}``) is
reported: for a stopping spec it turns the rule on.

Example:
    >>> job = {"studySpec": {"decayCurveStoppingSpec": {}}, "labels": {"team": "a"}}
    >>> for field in unrehearsed_fields(job):
    ...     print(field.path)
    labels
    studySpec.decayCurveStoppingSpec
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FIELDS", "Field", "UNKNOWN", "Unrehearsed", "field_table", "unrehearsed_fields"]

#: The reason given for a field that is not in :data:`FIELDS`.
UNKNOWN = "vertex-hydra does not know this field"


@dataclass(frozen=True)
class Field:
    """One row of the table: a field path and how ``local`` treats it.

    Attributes:
        path: The field's path, ``[*]`` for any list index.
        rehearsed: Whether ``local`` (and ``check``, where it applies) rehearses it.
        how: How it is rehearsed, or the one reason it is not.
        whole: For a rehearsed field, whether everything under it is too (not walked).
    """

    path: str
    rehearsed: bool
    how: str
    whole: bool = True


@dataclass(frozen=True)
class Unrehearsed:
    """A field of a job file that is not rehearsed here, and why.

    Example:
        >>> Unrehearsed("labels", "only Vertex AI reads them").line()
        'not rehearsed here: labels — only Vertex AI reads them'
    """

    path: str
    reason: str

    def line(self) -> str:
        """The note ``check`` and ``local`` print."""
        return f"not rehearsed here: {self.path} — {self.reason}"


def _yes(path: str, how: str, whole: bool = True) -> Field:
    return Field(path, True, how, whole)


def _no(path: str, reason: str) -> Field:
    return Field(path, False, reason)


_POOL = "trialJobSpec.workerPoolSpecs[*]"
_SEE_FIELDS = "see its fields"
_OUTPUT_ONLY = "output only: Vertex AI sets it and ignores it in a request"
_NO_GPU = "local trials run on this host's CPU, with no accelerator"

#: Every known field, in file order. A message whose fields are listed has ``whole=False``.
FIELDS: tuple[Field, ...] = (
    _yes("displayName", "names the local workdir and the submitted job"),
    _yes("maxTrialCount", "local runs as many trials (--max-trials overrides it)"),
    _yes("parallelTrialCount", "local runs as many trials at once (--parallel overrides it)"),
    _yes(
        "maxFailedTrialCount",
        "local ends the study after as many failed trials (0: max(3, a quarter of the trials))",
    ),
    _yes("studySpec", _SEE_FIELDS, whole=False),
    _yes("studySpec.metrics", _SEE_FIELDS, whole=False),
    _yes("studySpec.metrics[*]", _SEE_FIELDS, whole=False),
    _yes("studySpec.metrics[*].metricId", "read from the trial's hypertune metric file"),
    _yes("studySpec.metrics[*].goal", "local's sampler and stopping rules follow it"),
    _no(
        "studySpec.metrics[*].safetyConfig",
        "safe search is Vizier's: local's Optuna samplers do not honour the threshold",
    ),
    _yes("studySpec.parameters", _SEE_FIELDS, whole=False),
    _yes("studySpec.parameters[*]", _SEE_FIELDS, whole=False),
    _yes("studySpec.parameters[*].parameterId", "check probes it; local passes --id=value"),
    _yes("studySpec.parameters[*].scaleType", "local samples on that scale"),
    _yes("studySpec.parameters[*].doubleValueSpec", _SEE_FIELDS, whole=False),
    _yes("studySpec.parameters[*].doubleValueSpec.minValue", "the bound local samples from"),
    _yes("studySpec.parameters[*].doubleValueSpec.maxValue", "the bound local samples to"),
    _yes("studySpec.parameters[*].integerValueSpec", _SEE_FIELDS, whole=False),
    _yes("studySpec.parameters[*].integerValueSpec.minValue", "the bound local samples from"),
    _yes("studySpec.parameters[*].integerValueSpec.maxValue", "the bound local samples to"),
    _yes("studySpec.parameters[*].categoricalValueSpec", _SEE_FIELDS, whole=False),
    _yes(
        "studySpec.parameters[*].categoricalValueSpec.values",
        "local samples them; check probes each",
    ),
    _yes("studySpec.parameters[*].discreteValueSpec", _SEE_FIELDS, whole=False),
    _yes(
        "studySpec.parameters[*].discreteValueSpec.values", "local samples them; check probes each"
    ),
    *(
        _no(
            f"studySpec.parameters[*].{kind}.defaultValue",
            "Vizier's starting point: local's samplers do not start from it",
        )
        for kind in (
            "doubleValueSpec",
            "integerValueSpec",
            "categoricalValueSpec",
            "discreteValueSpec",
        )
    ),
    _yes(
        "studySpec.parameters[*].conditionalParameterSpecs",
        "local samples a child only when its parent activates it; check probes every child",
    ),
    _yes("studySpec.algorithm", "Bayesian (Optuna TPE), GRID_SEARCH and RANDOM_SEARCH"),
    _yes(
        "studySpec.measurementSelectionType", "local's final value is the last or best measurement"
    ),
    _yes("studySpec.medianAutomatedStoppingSpec", "local's MedianRule (local/stopping.py)"),
    _yes(
        "studySpec.convexAutomatedStoppingSpec",
        "local's ConvexRule (local/stopping.py); a stopped trial keeps its last real "
        "measurement, not a predicted one",
        whole=False,
    ),
    _yes(
        "studySpec.convexAutomatedStoppingSpec.maxStepCount",
        "the step ConvexRule predicts the objective at",
    ),
    _yes(
        "studySpec.convexAutomatedStoppingSpec.minStepCount",
        "ConvexRule waits for a measurement past it",
    ),
    _yes(
        "studySpec.convexAutomatedStoppingSpec.minMeasurementCount",
        "ConvexRule waits for as many measurements and one more completed trial",
    ),
    _yes(
        "studySpec.convexAutomatedStoppingSpec.useElapsedDuration",
        "ConvexRule places measurements by seconds",
    ),
    _no(
        "studySpec.convexAutomatedStoppingSpec.learningRateParameterName",
        "how Vertex AI uses the learning rate in its prediction is not published",
    ),
    _no(
        "studySpec.convexAutomatedStoppingSpec.updateAllStoppedTrials",
        "local never rewrites a stopped trial's final measurement",
    ),
    _no(
        "studySpec.decayCurveStoppingSpec",
        "its Gaussian-process model is not published, so local applies no rule for it",
    ),
    _no("studySpec.observationNoise", "not supported by HyperparameterTuningJob (API reference)"),
    _no(
        "studySpec.studyStoppingConfig",
        "whether tuning jobs honour it is unconfirmed; local stops only at maxTrialCount",
    ),
    _yes("trialJobSpec", _SEE_FIELDS, whole=False),
    _yes("trialJobSpec.workerPoolSpecs", _SEE_FIELDS, whole=False),
    _yes(_POOL, "pools 0 (the chief) and 1 (the workers) run as local processes", whole=False),
    _no(
        "trialJobSpec.workerPoolSpecs[2]",
        "parameter servers / Reduction Server: only pools 0 and 1 run and are composed",
    ),
    _no(
        "trialJobSpec.workerPoolSpecs[3]",
        "evaluators: only pools 0 and 1 run and are composed",
    ),
    _yes(f"{_POOL}.replicaCount", "local starts as many replicas of pool 1"),
    _yes(f"{_POOL}.containerSpec", _SEE_FIELDS, whole=False),
    _yes(
        f"{_POOL}.containerSpec.imageUri",
        "check validates the reference; the command runs on this host, not in the image",
    ),
    _yes(f"{_POOL}.containerSpec.command", "the trial's program, run on this host"),
    _yes(f"{_POOL}.containerSpec.args", "passed before the tuned parameters"),
    _yes(f"{_POOL}.pythonPackageSpec", _SEE_FIELDS, whole=False),
    _no(
        f"{_POOL}.pythonPackageSpec.executorImageUri",
        "no container runs: python -m runs on this host",
    ),
    _no(
        f"{_POOL}.pythonPackageSpec.packageUris",
        "not installed: the module is imported from this host's environment",
    ),
    _yes(f"{_POOL}.pythonPackageSpec.pythonModule", "run as python -m <module> on this host"),
    _yes(f"{_POOL}.pythonPackageSpec.args", "passed before the tuned parameters"),
    *(
        _no(
            f"{_POOL}.{spec}.env",
            "the pool's env entries are not set in local trials "
            "(VERTEX_HYDRA_STUDY is, from the job file)",
        )
        for spec in ("containerSpec", "pythonPackageSpec")
    ),
    _yes(f"{_POOL}.machineSpec", _SEE_FIELDS, whole=False),
    _no(f"{_POOL}.machineSpec.machineType", "local trials share this host's CPUs and memory"),
    _no(f"{_POOL}.machineSpec.acceleratorType", _NO_GPU),
    _no(f"{_POOL}.machineSpec.acceleratorCount", _NO_GPU),
    _no(f"{_POOL}.machineSpec.gpuPartitionSize", _NO_GPU),
    _no(f"{_POOL}.machineSpec.tpuTopology", _NO_GPU),
    _no(f"{_POOL}.machineSpec.reservationAffinity", "Compute Engine reservations are Vertex's"),
    _no(f"{_POOL}.diskSpec", "local trials use this host's disk"),
    _no(f"{_POOL}.nfsMounts", "nothing is mounted locally"),
    _no(f"{_POOL}.lustreMounts", "nothing is mounted locally"),
    _yes("trialJobSpec.baseOutputDirectory", "AIP_*_DIR point into the local workdir"),
    _yes("trialJobSpec.scheduling", _SEE_FIELDS, whole=False),
    _yes("trialJobSpec.scheduling.timeout", "local ends a trial that runs longer, as FAILED"),
    _no(
        "trialJobSpec.scheduling.restartJobOnWorkerRestart",
        "local never restarts a trial's process",
    ),
    _no("trialJobSpec.scheduling.strategy", "Spot and flex-start VMs are Vertex's"),
    _no("trialJobSpec.scheduling.disableRetries", "local never retries a trial"),
    _no("trialJobSpec.scheduling.maxWaitDuration", "local trials never wait for resources"),
    _no("trialJobSpec.serviceAccount", "local trials run with this host's credentials"),
    _no("trialJobSpec.network", "local trials use this host's network"),
    _no("trialJobSpec.reservedIpRanges", "local trials use this host's network"),
    _no("trialJobSpec.pscInterfaceConfig", "local trials use this host's network"),
    _no("trialJobSpec.persistentResourceId", "local trials run on this host"),
    _no("trialJobSpec.protectedArtifactLocationId", "nothing is uploaded locally"),
    _no("trialJobSpec.tensorboard", "nothing is uploaded to Vertex AI TensorBoard locally"),
    _no("trialJobSpec.enableWebAccess", "no interactive shell is served locally"),
    _no("trialJobSpec.enableDashboardAccess", "no dashboard is served locally"),
    _no("trialJobSpec.experiment", "nothing is logged to Vertex AI Experiments locally"),
    _no("trialJobSpec.experimentRun", "nothing is logged to Vertex AI Experiments locally"),
    _no("trialJobSpec.models", "no model is registered locally"),
    _no("labels", "only Vertex AI reads them (billing, search)"),
    _no("encryptionSpec", "local results are not encrypted with a Cloud KMS key"),
    *(
        _no(name, _OUTPUT_ONLY)
        for name in (
            "name",
            "trials",
            "state",
            "createTime",
            "startTime",
            "endTime",
            "updateTime",
            "error",
            "satisfiesPzs",
            "satisfiesPzi",
        )
    ),
)

_TABLE = {f.path: f for f in FIELDS}
_STUDY_ENV = "VERTEX_HYDRA_STUDY"


def field_table() -> list[tuple[str, str, str]]:
    """The table for docs/check.md: ``(path, "yes"/"no", how or why)`` of each leaf row.

    Rows that only say _SEE_FIELDS are left out.

    Example:
        >>> field_table()[0]
        ('displayName', 'yes', 'names the local workdir and the submitted job')
    """
    return [(f.path, "yes" if f.rehearsed else "no", f.how) for f in FIELDS if f.how != _SEE_FIELDS]


def _unset(value: Any) -> bool:
    return (
        value is None
        or value is False
        or value == ""
        or value == []
        or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)
    )


def _pool_runs(pool: Any) -> bool:
    count = pool.get("replicaCount") if isinstance(pool, Mapping) else None
    try:
        return float(count or 0) > 0
    except (TypeError, ValueError):
        return True  # a malformed count is the schema's problem; do not hide the pool


def _walk(value: Any, path: str, pattern: str, out: list[Unrehearsed]) -> None:
    if _unset(value):
        return
    if re.fullmatch(r"trialJobSpec\.workerPoolSpecs\[\d+\]", path):
        index = int(path[len("trialJobSpec.workerPoolSpecs[") : -1])
        if index >= 2:
            if _pool_runs(value):
                entry = _TABLE.get(path)
                out.append(Unrehearsed(path, entry.how if entry else UNKNOWN))
            return
    if pattern.endswith(".env") and isinstance(value, list):
        value = [e for e in value if not (isinstance(e, Mapping) and e.get("name") == _STUDY_ENV)]
        if not value:
            return
    entry = _TABLE.get(pattern)
    if entry is None:
        out.append(Unrehearsed(path, UNKNOWN))
        return
    if not entry.rehearsed:
        out.append(Unrehearsed(path, entry.how))
        return
    if entry.whole:
        return
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            _walk(value[key], f"{path}.{key}" if path else str(key), f"{pattern}.{key}"
                  if pattern else str(key), out)  # fmt: skip
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", f"{pattern}[*]", out)


def unrehearsed_fields(job: Any) -> list[Unrehearsed]:
    """Every field of the job file that local does not rehearse, each once, in path order.

    Args:
        job: The job file's mapping, or a :class:`~vertex_hydra.jobspec.JobSpec` (its ``raw``).

    Example:
        >>> pool = {"replicaCount": 1, "machineSpec": {"machineType": "n1-standard-4",
        ...     "acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 1}}
        >>> job = {"trialJobSpec": {"workerPoolSpecs": [pool, {}, {"replicaCount": 2}]},
        ...        "studySpec": {"nextGenSpec": 1}}
        >>> for field in unrehearsed_fields(job):
        ...     print(field.line())  # doctest: +NORMALIZE_WHITESPACE
        not rehearsed here: studySpec.nextGenSpec — vertex-hydra does not know this field
        not rehearsed here: trialJobSpec.workerPoolSpecs[0].machineSpec.acceleratorCount — local
            trials run on this host's CPU, with no accelerator
        not rehearsed here: trialJobSpec.workerPoolSpecs[0].machineSpec.acceleratorType — local
            trials run on this host's CPU, with no accelerator
        not rehearsed here: trialJobSpec.workerPoolSpecs[0].machineSpec.machineType — local
            trials share this host's CPUs and memory
        not rehearsed here: trialJobSpec.workerPoolSpecs[2] — parameter servers / Reduction
            Server: only pools 0 and 1 run and are composed
    """
    raw = getattr(job, "raw", job)
    out: list[Unrehearsed] = []
    if isinstance(raw, Mapping):
        for key in sorted(raw, key=str):
            _walk(raw[key], str(key), str(key), out)
    return list({u.path: u for u in out}.values())
