"""``check_job``: the job file's schema and rules, then the trial config of every probe value."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from vertex_hydra.check._model import CheckResult, PoolRow, Problem

if TYPE_CHECKING:
    from vertex_hydra.jobspec import JobSpec

__all__ = ["check_job", "once", "shared_type_warnings"]


def once(schema: list[str], rules: list[str]) -> list[str]:
    """The schema's problems without those a rule problem already reports (each mistake once).

    A rule problem starts with the field it concerns (``studySpec.metrics[0].goal is ...``);
    a schema problem about the same field is dropped, since the rule's sentence is the clearer.

    Example:
        >>> once(["Invalid enum value MAX at HyperparameterTuningJob.studySpec.metrics[0].goal."],
        ...      ["studySpec.metrics[0].goal is 'MAX'. Fix: set goal to MAXIMIZE."])
        []
    """
    fields = [rule.split(" ", 1)[0] for rule in rules]
    return [s for s in schema if not any(f"HyperparameterTuningJob.{f}" in s for f in fields)]


def check_job(
    path: str | Path,
    *,
    python: str | None = None,
    timeout: float = 60.0,
    jobs: int | None = None,
) -> CheckResult:
    """Check a tuning job file: schema, rules, and the trial config of every probe value.

    Args:
        path: The job file (the YAML given to ``gcloud ai hp-tuning-jobs create --config``).
        python: Interpreter replacing a leading ``python`` of the trial command
            (default: this one).
        timeout: Seconds allowed to each composition.
        jobs: Compositions run at a time (default: the number of CPUs).

    Returns:
        The result; ``result.ok`` is ``False`` when anything is wrong.

    Raises:
        ConfigurationError: The job file cannot be read or is not a YAML mapping.

    Example:
        >>> check_job("tests/apps/plain_job.yaml").ok  # doctest: +SKIP
        True
    """
    from vertex_hydra.errors import ConfigurationError
    from vertex_hydra.jobspec import (
        JobSpec,
        read_job_file,
        rule_problems,
        schema_problems,
    )
    from vertex_hydra.jobspec._image import image_findings
    from vertex_hydra.jobspec._rehearsal import unrehearsed_fields

    start = time.perf_counter()
    path = Path(path)
    raw = read_job_file(path)
    problems: list[Problem] = []
    notes: list[str] = []
    schema = schema_problems(raw)
    if schema is None:
        notes.append(
            "schema not checked: google-cloud-aiplatform is not installed "
            "(pip install 'vertex-hydra[cloud]'); the rule checks and compositions still ran."
        )
    unrehearsed = tuple(unrehearsed_fields(raw))
    rules = rule_problems(raw)
    problems += [Problem("job file", message) for message in once(schema or [], rules)]
    problems += [Problem("job file", message) for message in rules]
    # A placeholder image is only a warning: the compositions do not need it, submit refuses it.
    images = image_findings(raw)
    warnings = tuple(Problem(f.field, str(f)) for f in images if f.placeholder)
    problems += [Problem(f.field, str(f)) for f in images if not f.placeholder]

    def stop() -> CheckResult:
        return CheckResult(path, schema is not None, tuple(problems), notes=(*notes, *(f.line() for f in unrehearsed)),
                           seconds=time.perf_counter() - start, pools=pools,
                           warnings=warnings, unrehearsed=unrehearsed)  # fmt: skip

    pools: tuple[PoolRow, ...] = ()
    if rules:
        notes.append("trial configs not composed: fix the job file's rule problems first.")
        return stop()
    job = JobSpec.from_dict(raw, path=path)
    warnings = (*warnings, *shared_type_warnings(job))
    # Issue 12: several worker pools (pool 0's replicaCount, pool 1's command, pools 2-3 noted).
    from vertex_hydra.check._pools import compose_roles, pool_problems, pool_rows

    problems += pool_problems(job, python)
    pools = pool_rows(job.replica_counts, chief=False, worker=None)
    try:
        command = job.trial_command(python)
    except ConfigurationError as error:
        problems.append(Problem("trial command", str(error)))
        return stop()
    from vertex_hydra.check._compose import compose_rows

    composed = compose_rows(job, python=python, timeout=timeout, jobs=jobs)
    problems += composed.problems
    found, pools, worker_runs = compose_roles(job, composed.config, python=python, timeout=timeout)
    problems += found
    return CheckResult(
        path,
        schema is not None,
        problems=tuple(problems),
        rows=composed.rows,
        command=tuple(command),
        working_dir=job.working_dir,
        compositions=composed.compositions,
        runs=composed.runs + worker_runs,
        seconds=time.perf_counter() - start,
        notes=(*notes, *(f.line() for f in unrehearsed)),
        study_env=job.study_env_value(),
        pools=pools,
        warnings=warnings,
        unrehearsed=unrehearsed,
    )


def shared_type_warnings(job: JobSpec) -> list[Problem]:
    """A warning per ``parameterId`` whose sharing children give its value different types.

    A trial reads ``--lr=3.0`` without knowing which child is active, so the id
    gets one type (see :func:`~vertex_hydra.jobspec.merged_spec`); the probes then
    show what each child's config receives.

    Example:
        >>> shared_type_warnings(load_job("tests/apps/plain_job.yaml"))  # doctest: +SKIP
        []
    """
    from vertex_hydra.study_env import StudyParameter

    found: list[Problem] = []
    for column in job.columns:
        specs = [p for p in job.parameters if p.parameter_id == column.parameter_id]
        kinds = {StudyParameter(p.kind, p.values).value_type for p in specs}  # type: ignore[arg-type]
        if len(kinds) < 2:
            continue
        merged = StudyParameter(column.kind, column.values).value_type  # type: ignore[arg-type]
        each = ", ".join(f"{p.kind} when {p.condition() or 'top level'}" for p in specs)
        found.append(Problem(column.parameter_id, (
            f"children share parameterId {column.parameter_id!r} with different types ({each}); "
            f"a trial cannot tell from --{column.parameter_id}=<value> which one is active, so "
            f"each of them receives a {merged} value. Fix: give each child its own parameterId, "
            "or the same type."
        )))  # fmt: skip
    return found
