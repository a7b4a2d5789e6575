"""``vertex-hydra check`` on the command line: its parser, the command and all its printing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from vertex_hydra._table import colorize, layout_table
from vertex_hydra.check import CheckResult, ParameterRow, check_job
from vertex_hydra.check._probe import command_text

__all__ = [
    "add_parser",
    "run",
    "format_report",
    "format_pools",
    "format_received",
    "format_env_entry",
]

_HEADERS = ("parameter", "config key", "tried (as Vertex passes them)", "received", "status")


def format_received(values: tuple[Any, ...]) -> str:
    """Values the config received, then their type(s); ``-`` where nothing was composed.

    Example:
        >>> format_received((32, 64, None))
        '32, 64, - (int)'
        >>> format_received(("relu", "gelu"))
        "'relu', 'gelu' (str)"
    """
    texts = ["-" if v is None else repr(v) if isinstance(v, str) else _short(v) for v in values]
    kinds = list(dict.fromkeys(type(v).__name__ for v in values if v is not None))
    suffix = f" ({'/'.join(kinds)})" if kinds else ""
    return ", ".join(texts) + suffix


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{...}"
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def _row_cells(row: ParameterRow) -> list[str]:
    return [
        row.label,
        row.key or "-",
        ", ".join(row.tried),
        format_received(row.received),
        row.status,
    ]


def format_env_entry(result: CheckResult) -> list[str]:
    """The ``env:`` entry (YAML) for jobs created with gcloud directly; empty when unknown.

    Example:
        >>> from pathlib import Path
        >>> print(*format_env_entry(CheckResult(Path("j.yaml"), True, study_env="{}")), sep="\\n")
        <BLANKLINE>
          env       for jobs created with gcloud directly, add to every workerPoolSpecs[*]
                    containerSpec (or pythonPackageSpec) so trials know the study's types:
                      env:
                      - name: VERTEX_HYDRA_STUDY
                        value: '{}'
    """
    if not result.env_entry:
        return []
    [entry] = result.env_entry
    return [
        "",
        "  env       for jobs created with gcloud directly, add to every workerPoolSpecs[*]",
        "            containerSpec (or pythonPackageSpec) so trials know the study's types:",
        "              env:",
        f"              - name: {entry['name']}",
        # JSON text in single quotes is valid YAML: only a ' inside needs doubling.
        "                value: '" + entry["value"].replace("'", "''") + "'",
    ]


def format_pools(result: CheckResult) -> list[str]:
    """The ``pools`` header line of a job with several worker pools; empty for one pool.

    Example:
        >>> from pathlib import Path
        >>> from vertex_hydra.check import PoolRow
        >>> format_pools(CheckResult(Path("j.yaml"), True, pools=(PoolRow(0, 1, True),
        ...                                                        PoolRow(1, 1, True))))
        ['  pools     workerpool0 x1, workerpool1 x1   (composed as the chief and as a worker)']
    """
    if len(result.pools) < 2:
        return []
    line = "  pools     " + ", ".join(str(pool) for pool in result.pools)
    roles = [r for r, p in zip(("the chief", "a worker"), result.pools) if p.composed]
    return [line + (f"   (composed as {' and as '.join(roles)})" if roles else "")]


def not_probed_sentence(result: CheckResult) -> str:
    """What ``check`` says instead of its OK sentence when not everything was probed.

    Example:
        >>> print(not_probed_sentence(CheckResult(Path("j.yaml"), schema_checked=False)))
        No problem found, but not everything was probed: the schema was not checked; no parameter was composed (see the notes above).
    """
    missing = []
    if not result.schema_checked:
        missing.append("the schema was not checked")
    if not result.rows:
        missing.append("no parameter was composed")
    elif result.unprobed:
        missing.append("not probed: " + ", ".join(result.unprobed))
    return (
        f"No problem found, but not everything was probed: {'; '.join(missing)} "
        "(see the notes above)."
    )


def format_report(result: CheckResult, *, color: bool = False) -> str:
    """The human-readable report that ``vertex-hydra check`` prints.

    Args:
        result: What :func:`~vertex_hydra.check.check_job` found.
        color: Colour OK green and problems red (ANSI).

    Example:
        >>> print(format_report(result))  # doctest: +SKIP
    """

    def paint(text: str, shade: str) -> str:
        return colorize(text, shade) if color else text

    lines = [paint(f"vertex-hydra check {_shown_path(result.path)}", "bold")]
    job_problems = [p for p in result.problems if p.subject == "job file"]
    if result.schema_checked:
        state = "ok" if not job_problems else f"{len(job_problems)} problem(s), see below"
        lines.append(f"  job file  HyperparameterTuningJob schema and rules: {state}")
    else:
        lines.append(f"  job file  rules: {'ok' if not job_problems else 'problems, see below'}")
    if result.command:
        where = _shown_path(result.working_dir) if result.working_dir else "."
        lines.append(f"  trial     {command_text(result.command)}   (in {where})")
        lines.append(
            f"  composed  {result.compositions} compositions (1 baseline + "
            f"{result.compositions - 1} probe batches), {result.runs} runs, {result.seconds:.1f} s"
        )
    lines += format_pools(result)
    lines += [f"  note      {note}" for note in result.notes]
    lines += [paint(f"  warning   {warning.message}", "bold") for warning in result.warnings]
    if result.rows:
        cells = [_row_cells(row) for row in result.rows]
        shades = [
            [None, None, None, None, "green" if row.status == "OK" else "red"]
            for row in result.rows
        ]
        lines += ["", layout_table(_HEADERS, cells, shades if color else None)]
    lines += format_env_entry(result)
    lines.append("")
    unrehearsed = len(result.unrehearsed)
    untried = (
        f"{unrehearsed} field{'s' if unrehearsed > 1 else ''} of the job file "
        f"{'are' if unrehearsed > 1 else 'is'} not rehearsed here (see the notes above)."
    )
    if unrehearsed:
        lines.append(untried)
    if result.ok and result.fully_probed:
        lines.append(paint("OK: every parameter reaches the config as intended.", "green"))
        return "\n".join(lines)
    if result.ok:
        lines.append(paint(not_probed_sentence(result), "bold"))
        return "\n".join(lines)
    count = len(result.problems)
    lines.append(paint(f"{count} problem{'s' if count > 1 else ''}:", "red"))
    for i, problem in enumerate(result.problems, 1):
        lines.append(f"  {i}. {problem}")
    return "\n".join(lines)


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
        sys.stdout.write(
            format_report(result, color=use_color(sys.stdout, disabled=args.no_color)) + "\n"
        )
    return 0 if result.ok else 1
