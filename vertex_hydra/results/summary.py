"""A study at a glance: the trials table and best trial on a stream, ``trials.csv`` and the plots on disk.

Example:
    >>> import io, tempfile
    >>> from vertex_hydra.jobspec import MetricSpec
    >>> from vertex_hydra.results.model import StudyResults
    >>> out = io.StringIO()
    >>> render(StudyResults((MetricSpec("acc", "MAXIMIZE"),), (), []), tempfile.mkdtemp(), out)
    >>> "there is no best trial" in out.getvalue()
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from vertex_hydra.results.html import write_report
from vertex_hydra.results.model import StudyResults
from vertex_hydra.results.plots import plot as _plot
from vertex_hydra.results.table import format_cell, format_table, write_csv

__all__ = ["render"]


def render(results: StudyResults, workdir: str | Path, stream: TextIO) -> None:
    """Print the table and the best trial's overrides, then write ``trials.csv``, the plots and ``report.html``.

    Every file written is named on ``stream``.

    Example:
        >>> import sys
        >>> render(results, "runs/study", sys.stdout)  # doctest: +SKIP
        trial  state      model.lr  value (val_loss, MINIMIZE)  seconds
        ...
    """
    workdir = Path(workdir)
    stream.write(format_table(results) + "\n\n")
    best = results.best()
    if best is None:
        stream.write("No trial has a final measurement: there is no best trial.\n")
    else:
        shown = ", ".join(f"{k}={format_cell(v)}" for k, v in best.values.items())
        stream.write(f"Best trial {best.trial_id}: {shown}\n")
        stream.write(f"Best overrides: {results.best_overrides()}\n")
    stream.write(f"Trials CSV: {write_csv(results, workdir / 'trials.csv')}\n")
    stream.writelines(f"Plot: {path}\n" for path in _plot(results, workdir))
    stream.write(f"Report: {write_report(results, workdir / 'report.html')}\n")
