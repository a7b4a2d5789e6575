"""The ``submit`` and ``results`` subcommands: their options and what they print.

:mod:`vertex_hydra.cloud` does the work; this module turns options into calls
and results into lines. ``--help`` imports nothing from Google.

Example:
    >>> from vertex_hydra.cli import main
    >>> main(["results", "not-a-job-name"])  # doctest: +SKIP
    vertex-hydra results: error: --project is required and was not given ...
    2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from vertex_hydra.cloud import (
    CheckFailed,
    StateChange,
    build_submission,
    fetch_results,
    image_problem_of,
    preflight_check,
    submit_job,
    wait_for_job,
)
from vertex_hydra.errors import ConfigurationError

__all__ = ["add_parser", "run_submit", "run_results", "run_preflight", "format_change"]

_PROJECT_ENVS = ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT")
_REGION_ENVS = ("CLOUDSDK_AI_REGION", "GOOGLE_CLOUD_REGION")
_ENDPOINT_HELP = (
    "API host or URL (default: REGION-aiplatform.googleapis.com, or $VERTEX_HYDRA_API_ENDPOINT); "
    "for emulators and tests"
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``submit`` and ``results`` to the ``vertex-hydra`` subcommands; return ``submit``'s parser.

    Example:
        >>> sub = argparse.ArgumentParser(prog="vertex-hydra").add_subparsers()
        >>> add_parser(sub).prog
        'vertex-hydra submit'
    """
    submit: argparse.ArgumentParser = subparsers.add_parser(
        "submit",
        help="send the job to Vertex AI",
        description=(
            "Run 'check', then create the tuning job on Vertex AI from JOB.yaml, as "
            "'gcloud ai hp-tuning-jobs create --config JOB.yaml' would; options override "
            "the file. Prints the job's resource name and console URL. Credentials: "
            "Application Default Credentials ('gcloud auth application-default login')."
        ),
    )
    submit.add_argument(
        "job",
        metavar="JOB.yaml",
        help="the file given to 'gcloud ai hp-tuning-jobs create --config'",
    )
    submit.add_argument(
        "--project", help="Google Cloud project ID (default: $GOOGLE_CLOUD_PROJECT)"
    )
    submit.add_argument(
        "--region", help="Vertex AI region, e.g. us-central1 (default: $CLOUDSDK_AI_REGION)"
    )
    submit.add_argument(
        "--display-name", help="job name in the console (default: the file's displayName)"
    )
    submit.add_argument("--image", metavar="URI", help="replaces containerSpec.imageUri")
    submit.add_argument(
        "--service-account", metavar="EMAIL", help="sets trialJobSpec.serviceAccount"
    )
    submit.add_argument("--max-trial-count", type=int, metavar="N", help="overrides maxTrialCount")
    submit.add_argument(
        "--parallel-trial-count", type=int, metavar="N", help="overrides parallelTrialCount"
    )
    submit.add_argument("--no-check", action="store_true", help="skip the pre-flight 'check'")
    submit.add_argument("--dry-run", action="store_true",
                        help="print the request body (JSON) and send nothing")  # fmt: skip
    submit.add_argument("--wait", action="store_true",
                        help="follow the job until it ends, printing trial states as they change")  # fmt: skip
    submit.add_argument("--poll-interval", type=float, default=30.0, metavar="SECONDS",
                        help="seconds between polls with --wait (default: 30)")  # fmt: skip
    submit.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop following after this long with --wait (default: until the job ends)")  # fmt: skip
    submit.add_argument("--api-endpoint", metavar="URL", help=_ENDPOINT_HELP)
    submit.set_defaults(func=run_submit)

    results: argparse.ArgumentParser = subparsers.add_parser(
        "results",
        help="fetch a Vertex job's trials and render them like 'local' does",
        description=(
            "Fetch a tuning job's trials from Vertex AI and render them as 'local' does: "
            "the table, the best trial's overrides, trials.csv and plots in --workdir."
        ),
    )
    results.add_argument("job", metavar="JOB_RESOURCE_NAME",
                         help="projects/P/locations/R/hyperparameterTuningJobs/ID (or the bare ID "
                         "with --project and --region)")  # fmt: skip
    results.add_argument("--workdir", type=Path, metavar="DIR",
                         help="where trials.csv and the plots go (default: vertex-hydra-results/ID)")  # fmt: skip
    results.add_argument("--project", help="with a bare job ID: the project ID")
    results.add_argument("--region", help="with a bare job ID: the region")
    results.add_argument("--api-endpoint", metavar="URL", help=_ENDPOINT_HELP)
    results.set_defaults(func=run_results)
    return submit


def run_submit(args: argparse.Namespace) -> int:
    """Run ``vertex-hydra submit`` with parsed ``args``: 0 when submitted (and, with
    ``--wait``, succeeded), else 1.

    Example:
        >>> from vertex_hydra.cli import main
        >>> main(["submit", "job.yaml", "--project", "p", "--region", "us-central1"])  # doctest: +SKIP
        0
    """
    from vertex_hydra.cloud._api import JobName, console_url, parse_job_name, regional_endpoint

    project = _required(args.project, "--project", _PROJECT_ENVS, "my-project")
    region = _required(args.region, "--region", _REGION_ENVS, "us-central1")
    for option, value, example in (("--poll-interval", args.poll_interval, 30),
                                   ("--timeout", args.timeout, 3600)):  # fmt: skip
        if value is not None and not value > 0:
            raise ConfigurationError(
                f"{option} must be positive, got {value:g}. Fix: e.g. {option} {example}."
            )
    image = image_problem_of(args.job, args.image)
    if image is not None and not args.dry_run:
        raise ConfigurationError(image)
    if image is not None:
        sys.stderr.write(f"vertex-hydra submit: warning: {image}\n")
    if not args.no_check:
        run_preflight(args.job, sys.stderr)
    body = build_submission(
        args.job,
        display_name=args.display_name,
        image=args.image,
        service_account=args.service_account,
        max_trial_count=args.max_trial_count,
        parallel_trial_count=args.parallel_trial_count,
    )
    if args.dry_run:
        host = args.api_endpoint or regional_endpoint(region)
        host = host if "://" in host else f"https://{host}"
        sys.stderr.write(f"dry run: nothing sent. Would POST this body to {host}/v1/projects/"
                         f"{project}/locations/{region}/hyperparameterTuningJobs\n")  # fmt: skip
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return 0
    name = submit_job(body, project=project, region=region, api_endpoint=args.api_endpoint)
    # Vertex names the job with the project *number*; the console link reads better with the ID.
    job = JobName(project, region, parse_job_name(name).job_id)
    sys.stdout.write(f"Submitted {name}\nConsole: {console_url(job)}\n"
                     f"Results: vertex-hydra results {name}\n")  # fmt: skip
    sys.stdout.flush()
    if not args.wait:
        return 0
    final = wait_for_job(name, observer=_print_change, poll_interval=args.poll_interval,
                         timeout=args.timeout, api_endpoint=args.api_endpoint)  # fmt: skip
    return _report_end(name, final, args.timeout)


def run_preflight(job: str | Path, stream: TextIO) -> None:
    """Run ``check`` before a submission, as ``submit`` and the sweeper's vertex backend do.

    On problems, the check's report goes to ``stream`` and :class:`CheckFailed` is
    raised; else one line, and the warnings that ``submit`` does not judge itself.

    Example:
        >>> run_preflight("examples/digits/job.yaml", sys.stderr)  # doctest: +SKIP
        check: OK (4 compositions, 3.1 s)
    """
    from vertex_hydra.check._cli import format_report

    try:
        result = preflight_check(job)
    except CheckFailed as failed:
        stream.write(format_report(failed.result, color=False) + "\n")
        raise
    stream.write(f"check: OK ({result.compositions} compositions, {result.seconds:.1f} s)\n")
    for warning in result.warnings:  # the images' are not among them: run_submit judged those
        stream.write(f"check: warning: {warning.message}\n")


def format_change(change: StateChange) -> str:
    """The line ``submit --wait`` prints for one state change.

    Example:
        >>> format_change(StateChange(None, None, "JOB_STATE_RUNNING"))
        'job JOB_STATE_RUNNING'
        >>> format_change(StateChange("1", "ACTIVE", "SUCCEEDED", {"val/acc": 0.91}))
        'trial 1: SUCCEEDED  val/acc=0.91'
        >>> format_change(StateChange("2", "ACTIVE", "INFEASIBLE", reason="exit 1"))
        'trial 2: INFEASIBLE  (exit 1)'
    """
    if change.trial_id is None:
        return f"job {change.new}"
    shown = " ".join(f"{metric}={value:.6g}" for metric, value in change.metrics.items())
    extra = f"  {shown}" if shown else f"  ({change.reason})" if change.reason else ""
    return f"trial {change.trial_id}: {change.new}{extra}"


def _print_change(change: StateChange) -> None:
    sys.stdout.write(format_change(change) + "\n")
    sys.stdout.flush()


def _report_end(name: str, job: Mapping[str, Any] | None, timeout: float | None) -> int:
    if job is None:
        sys.stderr.write(f"vertex-hydra submit: the job is still running after {timeout:g} s and "
                         f"keeps running on Vertex AI. Fix: follow it with "
                         f"'vertex-hydra results {name}' later.\n")  # fmt: skip
        return 1
    state = job.get("state")
    if state == "JOB_STATE_SUCCEEDED":
        return 0
    why = (job.get("error") or {}).get("message") or "no error message"
    sys.stderr.write(f"vertex-hydra submit: the job ended in {state}: {why}. Fix: read the trial "
                     f"logs on the console page above, then submit again.\n")  # fmt: skip
    return 1


def run_results(args: argparse.Namespace) -> int:
    """Run ``vertex-hydra results`` with parsed ``args``: render the job's trials; 0 on success.

    Example:
        >>> from vertex_hydra.cli import main
        >>> main(["results", "projects/p/locations/us-central1/hyperparameterTuningJobs/7"])  # doctest: +SKIP
        trial  state  ...
        0
    """
    from vertex_hydra.cloud._api import JobName, parse_job_name
    from vertex_hydra.results import render
    from vertex_hydra.results.store import write_store

    name = args.job
    if "/" not in name:
        project = _required(args.project, "--project", _PROJECT_ENVS, "my-project")
        region = _required(args.region, "--region", _REGION_ENVS, "us-central1")
        name = str(JobName(project, region, name))
    job_id = parse_job_name(name).job_id
    workdir = args.workdir or Path("vertex-hydra-results") / job_id
    _check_writable(workdir)  # a bad --workdir fails before anything is fetched
    results = fetch_results(name, api_endpoint=args.api_endpoint)
    created = _make_folder(workdir)
    try:
        render(results, workdir, sys.stdout)
        store = write_store(results, workdir)
    except BaseException:
        if created is not None:  # leave nothing behind that this command made
            shutil.rmtree(created, ignore_errors=True)
        raise
    sys.stdout.write(f"Study store: {store} (vertex-hydra dashboard {workdir})\n")
    return 0


def _workdir_error(path: Path, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"cannot write results to --workdir {str(path)!r}: {why}. "
        "Fix: pass a folder you can write to, e.g. --workdir results."
    )


def _check_writable(path: Path) -> None:
    """Refuse ``path`` unless it is, or can become, a folder this process writes to; create nothing."""
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _workdir_error(path, f"{str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _workdir_error(path, "Permission denied")


def _make_folder(path: Path) -> Path | None:
    """Create ``path`` (and its parents); return the topmost folder created, if any."""
    top = path.absolute()
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    created = None if path.exists() else top
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _workdir_error(path, str(error.strerror)) from None
    return created


def _required(value: str | None, option: str, envs: tuple[str, ...], example: str) -> str:
    found = value or next((os.environ[e] for e in envs if os.environ.get(e)), None)
    if not found:
        raise ConfigurationError(
            f"{option} is required and was not given (nor {' or '.join(envs)} set). "
            f"Fix: pass e.g. {option} {example}."
        )
    return found
