"""Plain-text report of a :class:`~vertex_hydra.check.CheckResult`: header, table, problems.

Example:
    >>> from pathlib import Path
    >>> from vertex_hydra.check import CheckResult
    >>> print(render(CheckResult(Path("job.yaml"), schema_checked=True)))  # doctest: +ELLIPSIS
    vertex-hydra check job.yaml
    ...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vertex_hydra._table import colorize, layout_table
from vertex_hydra.check import CheckResult, ParameterRow
from vertex_hydra.check._probe import command_text

__all__ = ["render", "format_received"]

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
        row.parameter_id,
        row.key or "-",
        ", ".join(row.tried),
        format_received(row.received),
        row.status,
    ]


def render(result: CheckResult, *, color: bool = False) -> str:
    """The human-readable report that ``vertex-hydra check`` prints.

    Args:
        result: What :func:`~vertex_hydra.check.check_job` found.
        color: Colour OK green and problems red (ANSI).

    Example:
        >>> print(render(result))  # doctest: +SKIP
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
    lines += [f"  note      {note}" for note in result.notes]
    if result.rows:
        cells = [_row_cells(row) for row in result.rows]
        shades = [
            [None, None, None, None, "green" if row.status == "OK" else "red"]
            for row in result.rows
        ]
        lines += ["", layout_table(_HEADERS, cells, shades if color else None)]
    lines.append("")
    if result.ok:
        lines.append(paint("OK: every parameter reaches the config as intended.", "green"))
        return "\n".join(lines)
    count = len(result.problems)
    lines.append(paint(f"{count} problem{'s' if count > 1 else ''}:", "red"))
    for i, problem in enumerate(result.problems, 1):
        lines.append(f"  {i}. {problem}")
    return "\n".join(lines)
