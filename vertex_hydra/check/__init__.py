"""``vertex-hydra check JOB.yaml``: find every mistake in a tuning job in seconds.

It validates the job file (the real ``HyperparameterTuningJob`` schema and the
rules the schema alone does not enforce), then composes the trial's Hydra config
for every probe value without training: the trial command runs with ``--cfg
job`` and the parameters exactly as Vertex AI passes them. One composition per
probe index (composition *k* passes each parameter's *k*-th probe value), plus
one baseline without parameters that gives each key's default. A failing
composition is re-run without the parameter Hydra's error names, so one
mistake never hides another. :func:`check_job` returns a :class:`CheckResult`;
printing lives in :mod:`vertex_hydra.check._report`.

Example:
    >>> result = check_job("examples/digits/job.yaml")  # doctest: +SKIP
    >>> result.ok, [row.status for row in result.rows]  # doctest: +SKIP
    (True, ['OK', 'OK', 'OK', 'OK'])
"""

from __future__ import annotations

import argparse
import difflib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Problem", "ParameterRow", "CheckResult", "check_job", "add_parser", "run"]


@dataclass(frozen=True)
class Problem:
    """One mistake found, with what was wrong, what was received and the fix.

    Args:
        subject: The parameter id it concerns, or ``"job file"`` / ``"trial command"``.
        message: The full explanation, ending with ``Fix: ...``.

    Example:
        >>> str(Problem("data.bs", "no such key. Fix: rename it."))
        'data.bs: no such key. Fix: rename it.'
    """

    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass(frozen=True)
class ParameterRow:
    """What one tuned parameter does to the trial's config.

    Args:
        parameter_id: The job file's ``parameterId``.
        key: The Hydra key it lands on (after the app's ``rename``), if known.
        tried: The probe values, formatted as Vertex AI passes them.
        received: What the config held for each probe value (``None`` if not composed).
        default: The key's value without any parameter (``None`` if absent).
        status: ``"OK"`` or a short description of the error.
        problem: The full explanation when ``status`` is not ``"OK"``.

    Example:
        >>> ParameterRow("lr", "model.lr", ("0.1",), (0.1,), 0.01, "OK").ok
        True
    """

    parameter_id: str
    key: str | None
    tried: tuple[str, ...]
    received: tuple[Any, ...]
    default: Any
    status: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every probe value reached the config as it should."""
        return self.problem is None


@dataclass(frozen=True)
class CheckResult:
    """Everything ``check`` found out about a job file.

    Example:
        >>> CheckResult(Path("job.yaml"), schema_checked=True).ok
        True
    """

    path: Path
    schema_checked: bool
    problems: tuple[Problem, ...] = ()
    rows: tuple[ParameterRow, ...] = ()
    command: tuple[str, ...] = ()
    working_dir: Path | None = None
    compositions: int = 0
    runs: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong: the job would start every trial as intended."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``check --json`` prints)."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "schema_checked": self.schema_checked,
            "command": list(self.command),
            "compositions": self.compositions,
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "problems": [{"subject": p.subject, "message": p.message} for p in self.problems],
            "rows": [
                {
                    "parameter_id": r.parameter_id,
                    "key": r.key,
                    "tried": list(r.tried),
                    "received": list(r.received),
                    "default": r.default,
                    "status": r.status,
                    "problem": r.problem,
                }
                for r in self.rows
            ],
        }


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
    problems += [Problem("job file", message) for message in schema or []]
    rules = rule_problems(raw)
    problems += [Problem("job file", message) for message in rules]

    def stop() -> CheckResult:
        return CheckResult(path, schema is not None, tuple(problems), notes=tuple(notes),
                           seconds=time.perf_counter() - start)  # fmt: skip

    if rules:
        notes.append("trial configs not composed: fix the job file's rule problems first.")
        return stop()
    job = JobSpec.from_dict(raw, path=path)
    try:
        command = job.trial_command(python)
    except ConfigurationError as error:
        problems.append(Problem("trial command", str(error)))
        return stop()
    from vertex_hydra.check._compose import compose_rows

    composed = compose_rows(job, python=python, timeout=timeout, jobs=jobs)
    problems += composed.problems
    return CheckResult(
        path,
        schema is not None,
        problems=tuple(problems),
        rows=composed.rows,
        command=tuple(command),
        working_dir=job.working_dir,
        compositions=composed.compositions,
        runs=composed.runs,
        seconds=time.perf_counter() - start,
        notes=tuple(notes),
    )


def suggest_keys(key: str, existing: Sequence[str], n: int = 3) -> list[str]:
    """The existing config keys closest to ``key``: same last name first, then by spelling.

    Example:
        >>> suggest_keys("data.batch_sz", ["data.batch_size", "data.root", "model.lr"])
        ['data.batch_size']
        >>> suggest_keys("batch_size", ["data.batch_size", "model.lr"])
        ['data.batch_size']
    """
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [k for k in existing if k.rsplit(".", 1)[-1] == leaf and k != key]
    close = difflib.get_close_matches(key, list(existing), n=n, cutoff=0.6)
    leaves = {k.rsplit(".", 1)[-1]: k for k in existing}
    close_leaf = [leaves[m] for m in difflib.get_close_matches(leaf, list(leaves), n=n)]
    return list(dict.fromkeys(same_leaf + close + close_leaf))[:n]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``check`` to the ``vertex-hydra`` subcommands.

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser(prog="vertex-hydra").add_subparsers()
        >>> add_parser(sub).prog
        'vertex-hydra check'
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="compose the Hydra config of every trial before any money is spent",
        description=(
            "Validate a tuning job file against the real HyperparameterTuningJob schema "
            "and the rules the schema misses, then compose the trial's Hydra config "
            "for every probe value (both bounds, every discrete value and category), "
            "passed exactly as Vertex AI passes them, without training. Prints one row "
            "per parameter; exits 1 when anything is wrong."
        ),
    )
    parser.add_argument(
        "job",
        metavar="JOB.yaml",
        help="the file given to 'gcloud ai hp-tuning-jobs create --config'",
    )
    parser.add_argument("--python", metavar="PATH", default=None,
                        help="interpreter that replaces a leading 'python' in the trial command "
                        "(default: the one running vertex-hydra)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="seconds allowed to each composition (default: 60)")  # fmt: skip
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="compositions run at a time (default: number of CPUs)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-color", action="store_true", help="never colour the output")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``vertex-hydra check`` with parsed ``args``; 0 when the job is fine, else 1.

    Example:
        >>> from vertex_hydra.cli import main
        >>> main(["check", "examples/digits/job.yaml"])  # doctest: +SKIP
        0
    """
    import json
    import sys

    from vertex_hydra._table import use_color
    from vertex_hydra.check._report import render
    from vertex_hydra.errors import ConfigurationError

    if not args.timeout > 0:  # also refuses nan
        raise ConfigurationError(
            f"--timeout must be positive, got {args.timeout:g}. Fix: e.g. --timeout 60."
        )
    if args.jobs is not None and args.jobs < 1:
        raise ConfigurationError(f"--jobs must be at least 1, got {args.jobs}. Fix: e.g. --jobs 2.")
    result = check_job(args.job, python=args.python, timeout=args.timeout, jobs=args.jobs)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=repr) + "\n")
    else:
        sys.stdout.write(render(result, color=use_color(sys.stdout, disabled=args.no_color)) + "\n")
    return 0 if result.ok else 1


def flatten_keys(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every dotted key of a nested mapping, parents before children.

    Example:
        >>> flatten_keys({"data": {"batch_size": 32}, "seed": 0})
        ['data', 'data.batch_size', 'seed']
    """
    keys: list[str] = []
    for name, value in config.items():
        key = f"{prefix}{name}"
        keys.append(key)
        if isinstance(value, Mapping):
            keys += flatten_keys(value, f"{key}.")
    return keys
