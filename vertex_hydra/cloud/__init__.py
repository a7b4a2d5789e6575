"""``vertex-hydra submit`` and ``vertex-hydra results``: the same job file, on Vertex AI.

``submit`` runs ``check`` first, builds the ``HyperparameterTuningJob`` from the
job file as ``gcloud ai hp-tuning-jobs create --config`` does (command-line
options override the file), and creates it through the real
``JobServiceClient``. ``results`` fetches a job's trials and converts them to
:class:`vertex_hydra.results.StudyResults`, which the command renders exactly
as ``local`` renders its own.

This package does the work and prints nothing: the options and every line
printed live in :mod:`vertex_hydra.cloud._cli`. The client work lives in
:mod:`vertex_hydra.cloud._api`; the job-to-results conversion in
:mod:`vertex_hydra.cloud._results`.

Example:
    >>> from vertex_hydra.cli import main
    >>> main(["submit", "examples/digits/job.yaml", "--project", "p",
    ...       "--region", "us-central1", "--dry-run", "--no-check"])  # doctest: +SKIP
    {
      "displayName": "digits-hpt",
    ...
    0
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vertex_hydra.errors import ConfigurationError

if TYPE_CHECKING:
    from vertex_hydra.check import CheckResult, Problem

__all__ = [
    "add_study_env",
    "build_request_body",
    "build_submission",
    "preflight_check",
    "CheckFailed",
    "image_problem_of",
    "submit_job",
    "StateChange",
    "state_changes",
    "wait_for_job",
    "fetch_job",
    "fetch_results",
]


def build_request_body(
    raw: Mapping[str, Any],
    *,
    display_name: str,
    image: str | None = None,
    service_account: str | None = None,
    max_trial_count: int | None = None,
    parallel_trial_count: int | None = None,
) -> dict[str, Any]:
    """The ``HyperparameterTuningJob`` to create: the job file plus command-line overrides.

    The file is parsed into the real message exactly as
    ``gcloud ai hp-tuning-jobs create --config`` does (camelCase; unknown
    fields are errors), and the result is the message's canonical JSON.
    Options left at ``None`` keep the file's value.

    Raises:
        ConfigurationError: The file breaks the schema, or ``image`` is given
            for a job without a ``containerSpec``.

    Example:
        >>> body = build_request_body(
        ...     {"maxTrialCount": 8, "studySpec": {}, "trialJobSpec": {"workerPoolSpecs": [
        ...         {"containerSpec": {"imageUri": "old"}}]}},
        ...     display_name="digits", image="new", parallel_trial_count=2)
        >>> body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["imageUri"]
        'new'
        >>> body["maxTrialCount"], body["parallelTrialCount"], body["displayName"]
        (8, 2, 'digits')
    """
    from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
    from google.protobuf import json_format

    body = copy.deepcopy(dict(raw))
    body["displayName"] = display_name
    if max_trial_count is not None:
        body["maxTrialCount"] = max_trial_count
    if parallel_trial_count is not None:
        body["parallelTrialCount"] = parallel_trial_count
    if not isinstance(body.get("trialJobSpec"), dict):
        body["trialJobSpec"] = {}
    trial = body["trialJobSpec"]
    if service_account is not None:
        trial["serviceAccount"] = service_account
    if image is not None:
        containers = [
            pool["containerSpec"]
            for pool in trial.get("workerPoolSpecs") or []
            if isinstance(pool, dict) and "containerSpec" in pool
        ]
        if not containers:
            raise ConfigurationError(
                f"--image {image!r} replaces containerSpec.imageUri, but no worker pool has "
                "a containerSpec. Fix: drop --image, or set pythonPackageSpec.executorImageUri "
                "in the job file."
            )
        for container in containers:
            container["imageUri"] = image
    add_study_env(body)
    message = HyperparameterTuningJob.pb()()
    try:
        json_format.ParseDict(body, message)
    except json_format.ParseError as error:
        first = str(error).split("\n")[0].strip().rstrip(".")
        raise ConfigurationError(
            f"the job is not a valid HyperparameterTuningJob: {first}. "
            "Fix: correct that field (run 'vertex-hydra check JOB.yaml' for every problem)."
        ) from None
    result: dict[str, Any] = json_format.MessageToDict(message)
    return result


def add_study_env(body: dict[str, Any]) -> None:
    """Give every worker pool of ``body`` the study's ``VERTEX_HYDRA_STUDY`` entry, in place.

    Vertex AI passes a trial only ``--<parameterId>=<value>``; this entry in each
    pool's ``containerSpec.env`` / ``pythonPackageSpec.env`` tells the trial the
    parameter types and the study's metric and goal (see
    :mod:`vertex_hydra.study_env`). The user's own entries are kept; an entry of
    the same name that already holds the same value is left as it is. A body
    whose study breaks the job-file rules is left unchanged (``check`` reports it).

    Raises:
        ConfigurationError: A pool already sets ``VERTEX_HYDRA_STUDY`` to another value.

    Example:
        >>> body = {"studySpec": {"metrics": [{"metricId": "acc", "goal": "MAXIMIZE"}],
        ...     "parameters": [{"parameterId": "lr", "doubleValueSpec": {"minValue": 0.1,
        ...                                                              "maxValue": 1}}]},
        ...     "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i",
        ...         "command": ["python", "t.py"], "env": [{"name": "A", "value": "1"}]}}]}}
        >>> add_study_env(body)
        >>> [e["name"] for e in body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["env"]]
        ['A', 'VERTEX_HYDRA_STUDY']
    """
    from vertex_hydra.jobspec import JobSpec
    from vertex_hydra.study_env import STUDY_ENV

    try:
        value = JobSpec.from_dict(body).study_env_value()
    except ConfigurationError:
        return
    pools = (body.get("trialJobSpec") or {}).get("workerPoolSpecs") or []
    for index, pool in enumerate(pools):
        if not isinstance(pool, dict):
            continue
        for kind in ("containerSpec", "pythonPackageSpec"):
            spec = pool.get(kind)
            if not isinstance(spec, dict):
                continue
            env = spec.setdefault("env", [])
            if not isinstance(env, list):
                continue  # the schema check names it
            same = [e for e in env if isinstance(e, dict) and e.get("name") == STUDY_ENV]
            if not same:
                env.append({"name": STUDY_ENV, "value": value})
            elif same[0].get("value") != value:
                raise ConfigurationError(
                    f"trialJobSpec.workerPoolSpecs[{index}].{kind}.env sets {STUDY_ENV} to "
                    f"{str(same[0].get('value'))[:60]!r}, which is not this job's study "
                    f"({value[:60]!r}...). Fix: remove that env entry; submit sets it from "
                    "studySpec."
                )


def build_submission(
    job_path: str | Path,
    *,
    display_name: str | None = None,
    image: str | None = None,
    service_account: str | None = None,
    max_trial_count: int | None = None,
    parallel_trial_count: int | None = None,
) -> dict[str, Any]:
    """The request body ``submit`` sends for ``job_path``: the file plus the overrides.

    The display name, which the API requires, is ``display_name``, else the
    file's ``displayName``, else ``<folder>-<file stem>`` (``digits-job``).

    Raises:
        ConfigurationError: The file cannot be read or breaks the schema.

    Example:
        >>> build_submission("examples/digits/job.yaml", max_trial_count=20)["maxTrialCount"]
        20
    """
    from vertex_hydra.jobspec import read_job_file

    path = Path(job_path)
    raw = read_job_file(path)
    for option, value in (("--max-trial-count", max_trial_count),
                          ("--parallel-trial-count", parallel_trial_count)):  # fmt: skip
        if value is not None and value < 1:
            raise ConfigurationError(
                f"{option} must be at least 1, got {value}. Fix: e.g. {option} 4."
            )
    name = display_name or raw.get("displayName") or f"{path.resolve().parent.name}-{path.stem}"
    return build_request_body(
        raw,
        display_name=str(name),
        image=image,
        service_account=service_account,
        max_trial_count=max_trial_count,
        parallel_trial_count=parallel_trial_count,
    )


class CheckFailed(ConfigurationError):
    """``check`` found problems in the job file, so nothing was submitted.

    Args:
        message: The one-sentence error.
        result: What ``check`` found (the command line prints its report).

    Example:
        >>> from vertex_hydra.check import CheckResult
        >>> CheckFailed("x", CheckResult(Path("j.yaml"), True)).result.ok
        True
    """

    def __init__(self, message: str, result: CheckResult) -> None:
        super().__init__(message)
        self.result = result


def preflight_check(job_path: str | Path) -> CheckResult:
    """Run ``vertex-hydra check`` on the job file before submitting it.

    The images are left out of the result: ``--image`` may replace them, so
    ``submit`` judges them itself (:func:`image_problem_of`).

    Returns:
        The check's result, when it found no problem (warnings and notes may remain).

    Raises:
        CheckFailed: The check found problems (the job would waste trials).

    Example:
        >>> preflight_check("examples/digits/job.yaml").ok  # doctest: +SKIP
        True
    """
    from vertex_hydra.check import check_job

    def kept(found: tuple[Problem, ...]) -> tuple[Problem, ...]:
        return tuple(p for p in found if not p.subject.endswith(".containerSpec.imageUri"))

    result = check_job(job_path)
    result = dataclasses.replace(
        result, problems=kept(result.problems), warnings=kept(result.warnings)
    )
    if not result.ok:
        raise CheckFailed(
            f"check found {len(result.problems)} problem(s) in {str(job_path)!r}, so nothing was "
            "submitted. Fix: correct them (see 'vertex-hydra check'), or pass --no-check to skip it.",
            result,
        )
    return result


def image_problem_of(job_path: str | Path, image: str | None = None) -> str | None:
    """Why the job's images cannot be submitted, as one sentence; ``None`` when they can.

    ``image`` is ``--image``, which replaces every ``containerSpec.imageUri``;
    without it, each pool's own ``imageUri`` must be an image reference (not a
    placeholder such as ``REGION-docker.pkg.dev/PROJECT/REPO/digits:latest``).

    Raises:
        ConfigurationError: The job file cannot be read.

    Example:
        >>> print(image_problem_of("examples/digits/job.yaml"))  # doctest: +ELLIPSIS
        trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri is the placeholder ...
        >>> image_problem_of("examples/digits/job.yaml", "gcr.io/p/digits:v1") is None
        True
    """
    from vertex_hydra.jobspec import read_job_file
    from vertex_hydra.jobspec._image import image_findings, image_problem

    if image is not None:
        problem = image_problem(image)
        if problem is None:
            return None
        return (
            f"--image is no container image reference: {problem}. Fix: pass the image's full "
            "name, e.g. --image us-central1-docker.pkg.dev/my-project/my-repo/trainer:v1."
        )
    findings = image_findings(read_job_file(job_path))
    return str(findings[0]) if findings else None


def submit_job(
    body: Mapping[str, Any], *, project: str, region: str, api_endpoint: str | None = None
) -> str:
    """Create the tuning job ``body`` in ``project``/``region``; return its resource name.

    Raises:
        CloudError: Credentials, project, permission, quota or network problem.

    Example:
        >>> submit_job(build_submission("job.yaml"), project="p", region="us-central1")  # doctest: +SKIP
        'projects/123/locations/us-central1/hyperparameterTuningJobs/456'
    """
    from vertex_hydra.cloud._api import create_job, make_client, vertex_errors

    parent = f"projects/{project}/locations/{region}"
    with vertex_errors(f"create the tuning job in {parent}", project=project, region=region):
        client = make_client(region, api_endpoint)
        return str(create_job(client, parent, body)["name"])


def fetch_job(name: str, *, api_endpoint: str | None = None) -> dict[str, Any]:
    """Fetch a tuning job (trials included) as REST JSON.

    Raises:
        ConfigurationError: ``name`` is not a tuning job's resource name.
        CloudError: Credentials, project, permission, quota or network problem.

    Example:
        >>> fetch_job("projects/p/locations/us-central1/hyperparameterTuningJobs/7")["state"]  # doctest: +SKIP
        'JOB_STATE_SUCCEEDED'
    """
    from vertex_hydra.cloud._api import get_job, make_client, parse_job_name, vertex_errors

    job = parse_job_name(name)
    with vertex_errors(f"fetch {job}", project=job.project, region=job.region):
        return get_job(make_client(job.region, api_endpoint), str(job))


def fetch_results(name: str, *, api_endpoint: str | None = None) -> Any:
    """Fetch a tuning job and convert it to :class:`vertex_hydra.results.StudyResults`.

    Example:
        >>> fetch_results("projects/p/locations/us-central1/hyperparameterTuningJobs/7").best()  # doctest: +SKIP
        TrialResult(trial_id='3', state='SUCCEEDED', ...)
    """
    from vertex_hydra.cloud._results import job_to_results

    return job_to_results(fetch_job(name, api_endpoint=api_endpoint))


@dataclass(frozen=True)
class StateChange:
    """The job or one of its trials changed state, as :func:`wait_for_job` saw it.

    Args:
        trial_id: The trial's id, or ``None`` for the job itself.
        old: The state seen before (``None``: first seen now).
        new: The state now (``JOB_STATE_RUNNING``, ``ACTIVE``, ``SUCCEEDED``...).
        metrics: The trial's final measurement, ``metricId`` -> value (if any).
        reason: Why the trial is ``INFEASIBLE``, when Vertex AI says.

    Example:
        >>> StateChange("3", "ACTIVE", "SUCCEEDED", {"acc": 0.9}).new
        'SUCCEEDED'
    """

    trial_id: str | None
    old: str | None
    new: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None


def wait_for_job(
    name: str,
    *,
    observer: Callable[[StateChange], None] | None = None,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    api_endpoint: str | None = None,
) -> dict[str, Any] | None:
    """Poll a job until it ends, telling ``observer`` each change of the job's and trials' states.

    Returns:
        The job in its terminal state, or ``None`` when ``timeout`` seconds passed first
        (the job keeps running on Vertex AI).

    Raises:
        ConfigurationError: ``name`` is not a tuning job's resource name.
        CloudError: Credentials, project, permission, quota or network problem.

    Example:
        >>> wait_for_job(name, observer=print, poll_interval=60)["state"]  # doctest: +SKIP
        StateChange(trial_id=None, old=None, new='JOB_STATE_RUNNING', metrics={}, reason=None)
        ...
        'JOB_STATE_SUCCEEDED'
    """
    from vertex_hydra.cloud._api import (
        TERMINAL_JOB_STATES,
        get_job,
        make_client,
        parse_job_name,
        vertex_errors,
    )

    job_name = parse_job_name(name)
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str | None, str] = {}
    with vertex_errors(f"follow {job_name}", project=job_name.project, region=job_name.region):
        client = make_client(job_name.region, api_endpoint)
        while True:
            job = get_job(client, str(job_name))
            for change in state_changes(job, seen):
                if observer is not None:
                    observer(change)
            if job.get("state") in TERMINAL_JOB_STATES:
                return job
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                return None
            time.sleep(poll_interval)


def state_changes(job: Mapping[str, Any], seen: dict[str | None, str]) -> list[StateChange]:
    """The job's and its trials' state changes since ``seen``, which is updated in place.

    Example:
        >>> seen = {}
        >>> [c.new for c in state_changes({"state": "JOB_STATE_RUNNING",
        ...                                "trials": [{"id": "1", "state": "ACTIVE"}]}, seen)]
        ['JOB_STATE_RUNNING', 'ACTIVE']
        >>> state_changes({"state": "JOB_STATE_RUNNING"}, seen)
        []
    """
    changes: list[StateChange] = []
    state = str(job.get("state", "JOB_STATE_UNSPECIFIED"))
    if seen.get(None) != state:
        changes.append(StateChange(None, seen.get(None), state))
        seen[None] = state
    for trial in job.get("trials") or []:
        trial_id, trial_state = str(trial.get("id")), str(trial.get("state"))
        if seen.get(trial_id) == trial_state:
            continue
        final = (trial.get("finalMeasurement") or {}).get("metrics") or []
        metrics = {str(m["metricId"]): float(m.get("value", 0.0)) for m in final}
        changes.append(StateChange(trial_id, seen.get(trial_id), trial_state, metrics,
                                   trial.get("infeasibleReason")))  # fmt: skip
        seen[trial_id] = trial_state
    return changes
