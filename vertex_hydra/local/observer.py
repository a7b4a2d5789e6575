"""What a running study tells the code that watches it: :class:`StudyObserver`.

:meth:`vertex_hydra.local.Study.run` calls one observer at each event. Every
method does nothing by default, so an observer overrides only what it needs.
The progress display of ``vertex-hydra local`` is one observer
(:class:`vertex_hydra.local.progress.Progress`); a test or a Hydra sweeper passes
its own. Observers are called from the thread that runs the study, between two
store operations; an exception raised by an observer ends the study (its trials
are stopped first).

Example:
    >>> class Finished(StudyObserver):
    ...     def __init__(self) -> None:
    ...         self.ids: list[str] = []
    ...     def trial_finished(self, result: TrialResult) -> None:
    ...         self.ids.append(result.trial_id)
    >>> watcher = Finished()
    >>> watcher.trial_finished(TrialResult("1", "SUCCEEDED", {}, {"acc": 0.9}))
    >>> watcher.ids
    ['1']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.results import Measurement, StudyResults, TrialResult

__all__ = ["StudyEnd", "StudyStart", "StudyObserver", "StudyStatus"]


@dataclass(frozen=True)
class StudyStart:
    """A study about to start its trials.

    Args:
        workdir: The study folder.
        max_trials: Trials the study runs in all (finished ones included).
        parallel: Trials at once.
        algorithm: ``studySpec.algorithm`` (``None``: Bayesian optimisation).
        finished: Trials already finished (on resume).
        rerun: Ids of trials a previous run left unfinished; they run again under new ids.
        metrics: The study's metrics.
        parameters: The study's parameters, as its results show them (the
            columns of :class:`~vertex_hydra.results.StudyResults`).

    Example:
        >>> StudyStart(Path("w"), 8, 2, None, 0, ()).max_trials
        8
    """

    workdir: Path
    max_trials: int
    parallel: int
    algorithm: str | None
    finished: int
    rerun: tuple[str, ...]
    metrics: tuple[MetricSpec, ...] = ()
    parameters: tuple[ParameterSpec, ...] = ()


@dataclass(frozen=True)
class StudyStatus:
    """The study at a status tick (about once a second).

    Example:
        >>> StudyStatus(("3",), 2, 8, None).running
        ('3',)
    """

    running: tuple[str, ...]
    finished: int
    max_trials: int
    best: TrialResult | None


@dataclass(frozen=True)
class StudyEnd:
    """How a study ended.

    Args:
        reason: ``"completed"``, ``"failures"`` (``maxFailedTrialCount`` reached)
            or ``"interrupted"`` (a signal).
        signal: The signal's name (``"SIGINT"``, ``"SIGTERM"``) when interrupted.
        results: Every recorded trial, read from the store.
        failed: FAILED trials.
        failure_limit: FAILED trials that stop the study.
        store: The store file.

    Example:
        >>> StudyEnd("completed", None, None, 0, 3, Path("w/study.db")).reason
        'completed'
    """

    reason: str
    signal: str | None
    results: StudyResults | None
    failed: int
    failure_limit: int
    store: Path


class StudyObserver:
    """Receives a study's events; every method is a no-op until overridden.

    Example:
        >>> StudyObserver().note("nothing happens")
    """

    def study_started(self, start: StudyStart) -> None:
        """The store is open and the first trial is about to start."""

    def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
        """A trial's process started with these parameter values."""

    def trial_measured(self, trial_id: str, measurement: Measurement) -> None:
        """A running trial reported a new measurement (or completed one already seen)."""

    def trial_stopping(self, trial_id: str, reason: str) -> None:
        """A stopping rule (or a timeout) stops a running trial; ``reason`` says why."""

    def trial_finished(self, result: TrialResult) -> None:
        """A trial ended and was recorded in the store."""

    def trial_interrupted(self, trial_id: str, seconds: float) -> None:
        """A trial was cut short by the study's interruption; it re-runs on resume."""

    def status(self, status: StudyStatus) -> None:
        """A status tick, about once a second while trials run."""

    def study_ended(self, end: StudyEnd) -> None:
        """The study stopped starting trials and every trial has ended."""

    def note(self, text: str) -> None:
        """Something worth knowing that is not an event of one trial (free text)."""
