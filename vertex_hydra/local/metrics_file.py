"""Read a trial's hypertune metric file, as Vertex AI does, while it is being written.

``hypertune`` rewrites the whole file on every report (``open(path, "w")``)
with its last 100 reports, one JSON object per line::

    {"checkpoint_path": "", "global_step": "3", "timestamp": 1.7e9, "trial": "2", "val_loss": "0.41"}

A reader can therefore see an empty file, or one cut in the middle of a line.
:class:`MetricLog` keeps the complete reports it has seen (so a file caught
half-written loses nothing, and more than 100 reports survive when the file is
polled often enough); :func:`final_measurement` applies
``measurementSelectionType``. The rules:

* **A cut last line** (no newline) is skipped while the trial runs, as it may be
  being written; the read made once the trial has exited (``final=True``) takes it.
* **Another trial's lines**: a line whose ``"trial"`` field differs from the
  trial's id (its ``CLOUD_ML_TRIAL_ID``) is ignored, with a note; a line
  without ``"trial"`` is taken.
* **Order**: reports are ordered by ``timestamp``, then by step, then by their
  place in the file. A line without ``timestamp`` takes the one of the line
  before it in the file (0 if none), so it keeps its place after it, and a file
  without timestamps is ordered by step. ``LAST_MEASUREMENT`` is the last
  report in this order.
* **Bounded reading**: only the file's last :data:`TAIL_BYTES` are read (the
  lines cut at that edge are skipped, with a note once): hypertune's file holds
  100 lines, and a writer that appends forever must not exhaust the runner.
  Each tag keeps its last :data:`KEEP_PER_TAG` reports plus the lowest and the
  highest value dropped (what ``BEST_MEASUREMENT`` may need, whatever the goal);
  a report no newer than a dropped one is not taken again.

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
from vertex_hydra.report import RESERVED_FIELDS
from vertex_hydra.results import Measurement

__all__ = [
    "KEEP_PER_TAG",
    "TAIL_BYTES",
    "MetricLog",
    "Report",
    "curve",
    "final_measurement",
    "measurements",
    "parse_reports",
]

TAIL_BYTES = 1 << 20
"""How much of the end of a metric file is read (hypertune's 100 lines take a few kB)."""

KEEP_PER_TAG = 10_000
"""How many reports of one tag a :class:`MetricLog` keeps (plus the extremes it dropped)."""


@dataclass(frozen=True)
class Report:
    """One ``report_hyperparameter_tuning_metric`` call, as read back from the file.

    ``timestamp`` is the line's, or the one it takes (see the module docs).

    Example:
        >>> Report(step=1, timestamp=0.0, tag="loss", value=0.25).value
        0.25
    """

    step: int
    timestamp: float
    tag: str
    value: float


def _order(report: Report) -> tuple[float, int]:
    return (report.timestamp, report.step)


def _parse(text: str, trial_id: str | None, final: bool) -> tuple[list[Report], set[str]]:
    """The reports in ``text`` and the other trial ids whose lines were ignored."""
    reports: list[Report] = []
    others: set[str] = set()
    lines = text.split("\n")
    if not final or not lines[-1].strip():
        lines = lines[:-1]
    stamp = 0.0
    for line in lines:
        try:
            entry = json.loads(line)
            step = int(float(entry.get("global_step") or 0))
            if entry.get("timestamp") is not None:
                stamp = float(entry["timestamp"])
        except (ValueError, TypeError, AttributeError):
            continue
        if trial_id is not None and "trial" in entry and str(entry["trial"]) != trial_id:
            others.add(str(entry["trial"]))
            continue
        for tag, value in entry.items():
            if tag in RESERVED_FIELDS:
                continue
            try:
                reports.append(Report(step, stamp, str(tag), float(value)))
            except (TypeError, ValueError):
                continue
    return reports, others


def parse_reports(text: str, *, trial_id: str | None = None, final: bool = False) -> list[Report]:
    """Every complete, well-formed report in ``text``, in file order.

    Args:
        text: The file's text.
        trial_id: The trial's id: lines of another trial are skipped (None: keep all).
        final: The writer has exited, so a last line without newline is complete.

    A last line without its newline may still be being written: it is skipped
    unless ``final``. Lines that are not hypertune reports are skipped too.

    Example:
        >>> parse_reports('{"global_step": "0", "timestamp": 1, "acc": "nan"}\\n')
        [Report(step=0, timestamp=1.0, tag='acc', value=nan)]
        >>> parse_reports('{"trial": "2", "acc": 1}\\n{"trial": "1", "acc": 2}', trial_id="1",
        ...               final=True)
        [Report(step=0, timestamp=0.0, tag='acc', value=2.0)]
    """
    return _parse(text, trial_id, final)[0]


def _size(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


class MetricLog:
    """The reports seen in one metric file over successive reads (see the module docs).

    Args:
        path: The metric file.
        trial_id: The trial's ``CLOUD_ML_TRIAL_ID``; lines of another trial are
            ignored (None: keep every line).
        keep: How many reports of one tag to keep (:data:`KEEP_PER_TAG`).

    Attributes:
        notes: What the reads found worth telling the user, each said once.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "output.metrics"
        >>> log = MetricLog(path, trial_id="1")
        >>> log.refresh()
        False
        >>> _ = path.write_text('{"global_step": "1", "timestamp": 2, "loss": "0.5"}\\n')
        >>> log.refresh(), log.reports
        (True, [Report(step=1, timestamp=2.0, tag='loss', value=0.5)])
        >>> _ = path.write_text('{"global_step": "2", "timestamp": 3, "trial": "9", "loss": "0.1"}')
        >>> log.refresh(final=True), log.notes  # doctest: +ELLIPSIS
        (False, ["metric file ... has lines of trial '9' (not this trial, '1'): they are ignored"])
    """

    def __init__(
        self, path: str | Path, trial_id: str | None = None, *, keep: int = KEEP_PER_TAG
    ) -> None:
        self.path = Path(path)
        self.keep = keep
        self.trial_id = trial_id
        self.notes: list[str] = []
        self._seen: dict[tuple[float, int, str, float], Report] = {}
        self._count: dict[str, int] = {}
        self._dropped: dict[str, tuple[float, int]] = {}  # newest order dropped, per tag
        self._extremes: dict[str, list[Report]] = {}  # lowest and highest dropped, per tag
        self._stamp: tuple[int, int] | None = None
        self._others: set[str] = set()
        self._told_large = False

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _read(self, size: int) -> str:
        with open(self.path, "rb") as handle:
            if size <= TAIL_BYTES:
                data = handle.read()
            else:
                handle.seek(size - TAIL_BYTES)
                data = handle.read()
                data = data[data.find(b"\n") + 1 :]  # the first line is cut
                if not self._told_large:
                    self._told_large = True
                    self._note(
                        f"metric file {self.path} is {_size(size)}, more than hypertune "
                        f"writes (its last 100 reports): only its last {TAIL_BYTES >> 20} MiB "
                        "is read"
                    )
        return data.decode("utf-8", errors="replace")

    def refresh(self, *, force: bool = False, final: bool = False) -> bool:
        """Read the file again if it changed; return whether new reports arrived.

        Args:
            force: Read even if size and modification time are unchanged: two
                rewrites within one tick of the file system's clock may keep both.
            final: The trial has exited: read as ``force``, and take a last line
                without newline (while the trial runs it may be being written).
        """
        try:
            stat = os.stat(self.path)
        except OSError:
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp and not (force or final):
            return False
        try:
            text = self._read(stat.st_size)
        except OSError:
            return False
        reports, others = _parse(text, self.trial_id, final)
        for other in sorted(others - self._others):
            self._note(
                f"metric file {self.path} has lines of trial {other!r} (not this trial, "
                f"{self.trial_id!r}): they are ignored"
            )
        self._others |= others
        added = False
        for report in reports:
            key = (report.timestamp, report.step, report.tag, report.value)
            if key in self._seen:
                continue
            dropped = self._dropped.get(report.tag)
            if dropped is not None and _order(report) <= dropped:
                continue
            self._seen[key] = report
            added = True
            count = self._count[report.tag] = self._count.get(report.tag, 0) + 1
            if count > self.keep + self.keep // 10:
                self._drop(report.tag)
        if text.endswith("\n") or not text:
            self._stamp = stamp  # a cut line will be rewritten: read it again next time
        return added

    def _drop(self, tag: str) -> None:
        """Drop the tag's oldest reports down to ``keep``, keeping the extremes."""
        mine = sorted(((_order(r), k) for k, r in self._seen.items() if r.tag == tag))
        gone = [self._seen.pop(k) for _, k in mine[: len(mine) - self.keep]]
        self._count[tag] = self.keep
        self._dropped[tag] = max(self._dropped.get(tag, mine[0][0]), mine[len(gone) - 1][0])
        finite = [r for r in gone + self._extremes.get(tag, []) if math.isfinite(r.value)]
        if finite:
            low = min(finite, key=lambda r: r.value)
            high = max(finite, key=lambda r: r.value)
            self._extremes[tag] = [low] if low is high else [low, high]

    @property
    def reports(self) -> list[Report]:
        """The reports kept, in the order they were made (see the module docs)."""
        kept = list(self._seen.values())
        for extremes in self._extremes.values():
            kept.extend(extremes)
        return sorted(kept, key=_order)

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
    for r in sorted(reports, key=_order):
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
    ordered = sorted(reports, key=_order)
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
