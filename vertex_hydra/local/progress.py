"""The live progress display of ``vertex-hydra local``: one :class:`StudyObserver`.

Every event (a trial started, finished, stopped) is one line, so logs and
notebooks read well. On a terminal a status line (running trials, finished
count, best so far, elapsed time) is also kept at the bottom with ``\\r``.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> Progress(out).note("hello")
    >>> out.getvalue()[-12:]
    'note: hello\\n'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.local.observer import StudyEnd, StudyObserver, StudyStart, StudyStatus
from vertex_hydra.results import TrialResult

__all__ = ["Progress", "Console", "format_values"]


def _fmt(value: float | str) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def format_values(values: dict[str, Any]) -> str:
    """``key=value`` pairs as progress lines show them.

    Example:
        >>> format_values({"lr": 0.00123456789, "act": "relu"})
        'lr=0.00123457 act=relu'
    """
    return " ".join(f"{k}={_fmt(v)}" for k, v in values.items())


class Progress(StudyObserver):
    """Writes event lines, and a ``\\r`` status line when ``stream`` is a terminal.

    Args:
        stream: Where to write.
        tty: Force the status line on or off (default: ``stream.isatty()``).

    Example:
        >>> import sys
        >>> Progress(sys.stdout, tty=False).event("trial 2 SUCCEEDED")  # doctest: +ELLIPSIS
        [...] trial 2 SUCCEEDED
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty()) if tty is None else tty
        self.started = time.monotonic()
        self._status = ""

    def _clock(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def event(self, text: str) -> None:
        """Write one event line (above the status line on a terminal)."""
        clear = "\r\x1b[K" if self.tty and self._status else ""
        self.stream.write(f"{clear}[{self._clock()}] {text}\n")
        if self.tty and self._status:
            self.stream.write(self._status)
        self.stream.flush()

    def close(self) -> None:
        """End the status line so that what follows starts on a fresh line."""
        if self.tty and self._status:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._status = ""

    def study_started(self, start: StudyStart) -> None:
        """One line: where, how many, how."""
        if start.rerun:
            self.event(
                f"trials {', '.join(start.rerun)} were cut off by the last run's "
                "end: they run again under new ids"
            )
        algorithm = start.algorithm or "Bayesian optimisation (Optuna TPE)"
        self.event(
            f"study in {start.workdir}: {start.max_trials} trials, {start.parallel} at a time, "
            f"{algorithm}, {start.finished} already finished"
        )

    def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
        """``trial 3 started: lr=0.01``."""
        self.event(f"trial {trial_id} started: {format_values(parameters)}")

    def trial_stopping(self, trial_id: str, reason: str) -> None:
        """``trial 3 stopping: <reason>``."""
        self.event(f"trial {trial_id} stopping: {reason}")

    def trial_finished(self, result: TrialResult) -> None:
        """One line per trial: its state, seconds, and values or the error's first and last line."""
        lines = (result.error or "").splitlines() or [""]
        shown = (
            format_values(result.values)
            if result.values
            else (lines[0] + (f" ... {lines[-1].strip()}" if len(lines) > 1 else ""))
        )
        self.event(
            f"trial {result.trial_id} {result.state} in {result.seconds or 0.0:.1f} s: {shown}"
        )

    def trial_interrupted(self, trial_id: str, seconds: float) -> None:
        """``trial 3 interrupted after 1.2 s``."""
        self.event(f"trial {trial_id} interrupted after {seconds:.1f} s")

    def note(self, text: str) -> None:
        """``note: <text>``."""
        self.event(f"note: {text}")

    def status(self, status: StudyStatus) -> None:
        """Redraw the status line (terminal only)."""
        if not self.tty:
            return
        shown = ", ".join(status.running) if status.running else "none"
        best = status.best
        self._status = (
            f"[{self._clock()}] {status.finished}/{status.max_trials} finished, running: {shown}"
            + (f", best: trial {best.trial_id} {format_values(best.values)}" if best else "")
        )
        self.stream.write("\r\x1b[K" + self._status)
        self.stream.flush()


def _warm_up(*args: Any) -> None:
    """:func:`vertex_hydra.results.plots.warm_up`, imported in the thread that runs it."""
    from vertex_hydra.results.plots import warm_up

    warm_up(*args)


class Console(Progress):
    """The progress display of a command, then the end of its study: table, files and plots.

    The one observer behind ``vertex-hydra local`` and the sweeper's local
    backend. While the first trial runs, matplotlib is loaded and every plot of
    a made-up study with the same metrics and parameters is drawn in a thread
    (:func:`vertex_hydra.results.plots.warm_up`), so the plots at the end start at full speed.

    Args:
        stream: Where to write.
        resume: The line that says how to resume an interrupted study.
        limit: What follows the failure limit in the line of a study stopped by
            failures (``", maxFailedTrialCount=2"``).
        tty: Force the status line on or off (default: ``stream.isatty()``).

    Example:
        >>> import sys
        >>> console = Console(sys.stdout, resume="Resume with: vertex-hydra local job.yaml --resume")
        >>> console.resume
        'Resume with: vertex-hydra local job.yaml --resume'
    """

    def __init__(
        self, stream: TextIO, *, resume: str, limit: str = "", tty: bool | None = None
    ) -> None:
        super().__init__(stream, tty=tty)
        self.resume, self.limit = resume, limit
        self._warming: threading.Thread | None = None
        self._warmed = threading.Event()  # set at the end: the warm-up starts no more figures
        self._study: tuple[Sequence[MetricSpec], Sequence[ParameterSpec]] = ((), ())

    def study_started(self, start: StudyStart) -> None:
        """The event line; the study's metrics and parameters are kept for the warm-up."""
        super().study_started(start)
        self._study = (start.metrics, start.parameters)

    def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
        """The event line; the first one also starts the plot warm-up."""
        super().trial_started(trial_id, parameters)
        if self._warming is None:
            self._warming = threading.Thread(
                target=_warm_up, args=(*self._study, self._warmed), daemon=True
            )
            self._warming.start()

    def study_ended(self, end: StudyEnd) -> None:
        """What was kept and how to resume; or the results, rendered into the study's folder."""
        self.close()
        if self._warming is not None:  # a short study: its own plots matter more than the warm-up
            self._warmed.set()
            self._warming.join()  # matplotlib is not thread-safe: one drawing thread at a time
        out = self.stream
        if end.reason == "interrupted":
            kept = len(end.results.trials) if end.results is not None else 0
            out.write(
                f"Interrupted by {end.signal}: {kept} finished trials kept in {end.store}; "
                f"trials cut short re-run on resume.\n{self.resume}\n"
            )
            return
        if end.results is not None:
            from vertex_hydra.results import render

            render(end.results, end.store.parent, out)
        if end.reason == "failures":
            out.write(
                f"Study stopped: {end.failed} trials FAILED (limit {end.failure_limit}"
                f"{self.limit}). See each trial's stderr.log under trials/.\n"
            )
