"""Read a trial's hypertune metric file, as Vertex AI does, while it is being written.

``hypertune`` rewrites the whole file on every report (``open(path, "w")``)
with its last 100 reports, one JSON object per line::

    {"checkpoint_path": "", "global_step": "3", "timestamp": 1.7e9, "trial": "2", "val_loss": "0.41"}

A reader can therefore see an empty file, or one cut in the middle of a line.
:class:`MetricLog` keeps every complete report it has ever seen (so a file
caught half-written loses nothing, and more than 100 reports survive when the
file is polled often enough); :func:`final_measurement` applies
``measurementSelectionType``.

Example:
    >>> line = ('{"checkpoint_path": "", "global_step": "3", "timestamp": 5.0, '
    ...         '"trial": "1", "loss": "0.5"}\\n{"glob')
    >>> parse_reports(line)
    [Report(step=3, timestamp=5.0, tag='loss', value=0.5)]
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vertex_hydra.jobspec import MetricSpec
from vertex_hydra.results import Measurement

__all__ = [
    "MetricLog",
    "Report",
    "curve",
    "final_measurement",
    "measurements",
    "parse_reports",
]

_FIELDS = frozenset({"checkpoint_path", "global_step", "timestamp", "trial"})


@dataclass(frozen=True)
class Report:
    """One ``report_hyperparameter_tuning_metric`` call, as read back from the file.

    Example:
        >>> Report(step=1, timestamp=0.0, tag="loss", value=0.25).value
        0.25
    """

    step: int
    timestamp: float
    tag: str
    value: float


def parse_reports(text: str) -> list[Report]:
    """Every complete, well-formed report in ``text``, in file order.

    A last line without its newline may still be being written: it is skipped.
    Lines that are not hypertune reports are skipped too.

    Example:
        >>> parse_reports('{"global_step": "0", "timestamp": 1, "acc": "nan"}\\n')
        [Report(step=0, timestamp=1.0, tag='acc', value=nan)]
    """
    reports: list[Report] = []
    for line in text.split("\n")[:-1]:
        try:
            entry = json.loads(line)
            step = int(float(entry.get("global_step") or 0))
            stamp = float(entry.get("timestamp") or 0.0)
        except (ValueError, TypeError, AttributeError):
            continue
        for tag, value in entry.items():
            if tag in _FIELDS:
                continue
            try:
                reports.append(Report(step, stamp, str(tag), float(value)))
            except (TypeError, ValueError):
                continue
    return reports


class MetricLog:
    """Every report seen in one metric file over successive reads.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "output.metrics"
        >>> log = MetricLog(path)
        >>> log.refresh()
        False
        >>> _ = path.write_text('{"global_step": "1", "timestamp": 2, "loss": "0.5"}\\n')
        >>> log.refresh(), log.reports
        (True, [Report(step=1, timestamp=2.0, tag='loss', value=0.5)])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen: dict[tuple[float, int, str], Report] = {}
        self._stamp: tuple[int, int] | None = None

    def refresh(self, *, force: bool = False) -> bool:
        """Read the file again if it changed; return whether new reports arrived.

        A change is seen from the file's size and modification time. Two rewrites
        within one tick of the file system's clock may keep both, so the last read
        of a finished trial's file passes ``force=True``.
        """
        try:
            stat = os.stat(self.path)
        except OSError:
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp and not force:
            return False
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        before = len(self._seen)
        for report in parse_reports(text):
            self._seen.setdefault((report.timestamp, report.step, report.tag), report)
        if text.endswith("\n") or not text:
            self._stamp = stamp  # a cut line will be rewritten: read it again next time
        return len(self._seen) > before

    @property
    def reports(self) -> list[Report]:
        """Every report seen, in the order they were made."""
        return sorted(self._seen.values(), key=lambda r: r.timestamp)

    def tags(self) -> list[str]:
        """The metric tags reported so far (to explain an INFEASIBLE trial)."""
        return sorted({r.tag for r in self._seen.values()})


def measurements(
    reports: Iterable[Report], metric_ids: Sequence[str]
) -> list[tuple[int, dict[str, float]]]:
    """Group the study's metrics into measurements ``(step, {metricId: value})``, by step.

    A later report for the same step and metric replaces the earlier one
    (e.g. a final report at the last epoch's step).

    Example:
        >>> measurements([Report(2, 1.0, "acc", 0.5), Report(1, 0.0, "acc", 0.25),
        ...               Report(2, 2.0, "acc", 0.75), Report(2, 2.0, "other", 9.0)], ["acc"])
        [(1, {'acc': 0.25}), (2, {'acc': 0.75})]
    """
    by_step: dict[int, dict[str, float]] = {}
    for r in sorted(reports, key=lambda r: r.timestamp):
        if r.tag in metric_ids:
            by_step.setdefault(r.step, {})[r.tag] = r.value
    return sorted(by_step.items())


def curve(
    reports: Iterable[Report], metric_ids: Sequence[str], started: float
) -> list[Measurement]:
    """The trial's :class:`Measurement` s by step, each placed at its last report's time.

    Args:
        reports: The trial's reports.
        metric_ids: The study's metrics.
        started: When the trial started (``time.time()``), for ``elapsed``.

    Example:
        >>> curve([Report(1, 11.0, "acc", 0.5), Report(2, 12.5, "acc", 0.7)], ["acc"], 10.0)
        [Measurement(step=1, elapsed=1.0, values={'acc': 0.5}), Measurement(step=2, elapsed=2.5, values={'acc': 0.7})]
    """
    reports = list(reports)
    stamps: dict[int, float] = {}
    for r in reports:
        if r.tag in metric_ids:
            stamps[r.step] = max(stamps.get(r.step, r.timestamp), r.timestamp)
    return [
        Measurement(step, round(stamps[step] - started, 3), values)
        for step, values in measurements(reports, metric_ids)
    ]


def final_measurement(
    reports: Sequence[Report], metrics: Sequence[MetricSpec], selection: str
) -> tuple[dict[str, float], str | None]:
    """The trial's final measurement under ``measurementSelectionType``.

    ``LAST_MEASUREMENT``: each metric's last report, in time. ``BEST_MEASUREMENT``:
    the report best on the first metric; the other metrics come from the same
    step (else their last report). A missing or non-finite value makes the
    trial INFEASIBLE.

    Returns:
        ``(values, None)``, or ``({}, reason)`` when the trial is infeasible.

    Example:
        >>> rs = [Report(1, 1.0, "acc", 0.9), Report(2, 2.0, "acc", 0.8)]
        >>> final_measurement(rs, [MetricSpec("acc", "MAXIMIZE")], "LAST_MEASUREMENT")
        ({'acc': 0.8}, None)
        >>> final_measurement(rs, [MetricSpec("acc", "MAXIMIZE")], "BEST_MEASUREMENT")
        ({'acc': 0.9}, None)
    """
    ordered = sorted(reports, key=lambda r: r.timestamp)
    last = {r.tag: r for r in ordered}
    ids = [m.metric_id for m in metrics]
    missing = [i for i in ids if i not in last]
    if missing:
        seen = sorted(last)
        hint = f"; it reported {seen}" if seen else "; its metric file has no report"
        return {}, (
            f"no measurement of {missing}{hint}. Fix: report the study's metricId "
            "(hypertune tag) exactly, e.g. vertex_hydra.report_metric(value)."
        )
    values = {i: last[i].value for i in ids}
    if selection == "BEST_MEASUREMENT":
        first = metrics[0]
        finite = [r for r in ordered if r.tag == first.metric_id and math.isfinite(r.value)]
        if finite:
            best = finite[0]
            for r in finite[1:]:
                if first.better(r.value, best.value):
                    best = r
            at_step = dict(measurements(ordered, ids)).get(best.step, {})
            values = {**values, **at_step, first.metric_id: best.value}
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        return {}, f"final measurement is not finite: {bad}"
    return values, None
