"""``vertex-hydra submit`` and ``vertex-hydra results``: the same job file, on Vertex AI.

``submit`` runs ``check`` first, builds the ``HyperparameterTuningJob`` from the
job file as ``gcloud ai hp-tuning-jobs create --config`` does (command-line
options override the file), and creates it through the real
``JobServiceClient``. ``results`` fetches a job's trials and renders them with
:func:`vertex_hydra.results.render`, exactly as ``local`` renders its own.

The client work lives in :mod:`vertex_hydra.cloud._api`; the job-to-results
conversion in :mod:`vertex_hydra.cloud._results`.

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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from vertex_hydra.errors import ConfigurationError

__all__ = [
    "add_study_env",
    "build_request_body",
    "build_submission",
    "preflight_check",
    "submit_job",
    "wait_for_job",
    "fetch_job",
    "fetch_results",
    "add_parser",
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


def preflight_check(job_path: str | Path, stream: TextIO) -> None:
    """Run ``vertex-hydra check`` on the job file; print its report if it finds problems.

    Raises:
        ConfigurationError: The check found problems (the job would waste trials).

    Example:
        >>> preflight_check("examples/digits/job.yaml", sys.stderr)  # doctest: +SKIP
    """
    from vertex_hydra.check import check_job

    result = check_job(job_path)
    if result.ok:
        stream.write(f"check: OK ({result.compositions} compositions, {result.seconds:.1f} s)\n")
        return
    from vertex_hydra.check._report import render

    stream.write(render(result, color=False) + "\n")
    raise ConfigurationError(
        f"check found {len(result.problems)} problem(s) in {str(job_path)!r}, so nothing was "
        "submitted. Fix: correct them (see 'vertex-hydra check'), or pass --no-check to skip it."
    )


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


def wait_for_job(
    name: str,
    stream: TextIO,
    *,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    api_endpoint: str | None = None,
) -> dict[str, Any] | None:
    """Poll a job until it ends, printing the job's and each trial's state as they change.

    Returns:
        The job in its terminal state, or ``None`` when ``timeout`` seconds passed first
        (the job keeps running on Vertex AI).

    Example:
        >>> wait_for_job(name, sys.stdout, poll_interval=60)["state"]  # doctest: +SKIP
        job JOB_STATE_RUNNING
        trial 1: ACTIVE
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
    seen: dict[str, str] = {}
    with vertex_errors(f"follow {job_name}", project=job_name.project, region=job_name.region):
        client = make_client(job_name.region, api_endpoint)
        while True:
            job = get_job(client, str(job_name))
            _print_changes(job, seen, stream)
            if job.get("state") in TERMINAL_JOB_STATES:
                return job
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                return None
            time.sleep(poll_interval)


def _print_changes(job: Mapping[str, Any], seen: dict[str, str], stream: TextIO) -> None:
    state = str(job.get("state", "JOB_STATE_UNSPECIFIED"))
    if seen.get("") != state:
        seen[""] = state
        stream.write(f"job {state}\n")
    for trial in job.get("trials") or []:
        trial_id, trial_state = str(trial.get("id")), str(trial.get("state"))
        if seen.get(trial_id) == trial_state:
            continue
        seen[trial_id] = trial_state
        final = (trial.get("finalMeasurement") or {}).get("metrics") or []
        shown = " ".join(f"{m['metricId']}={float(m.get('value', 0.0)):.6g}" for m in final)
        reason = trial.get("infeasibleReason")
        extra = f"  {shown}" if shown else f"  ({reason})" if reason else ""
        stream.write(f"trial {trial_id}: {trial_state}{extra}\n")
    stream.flush()


def add_parser(subparsers: Any) -> Any:
    """Add ``submit`` and ``results`` to the ``vertex-hydra`` subcommands; return ``submit``'s parser.

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser(prog="vertex-hydra").add_subparsers()
        >>> add_parser(sub).prog
        'vertex-hydra submit'
    """
    from vertex_hydra.cloud._cli import add_parsers

    return add_parsers(subparsers)
