"""The study engine: :class:`Study` runs a Vertex AI tuning job file on this machine.

This module schedules: it keeps ``parallelTrialCount`` slots busy, starts
trials through a :class:`~vertex_hydra.local.trial.TrialLauncher`, polls them,
applies the stopping rules (:mod:`vertex_hydra.local.stopping`) and the failure
limit, records every trial in the store (:mod:`vertex_hydra.local.store`, the
only place results live) and tells a :class:`~vertex_hydra.local.observer.StudyObserver`.
It prints nothing.

Between two starts the running trials are polled, so a burst of starts never
delays recording a finished trial. SIGINT or SIGTERM stops every trial (SIGTERM,
then SIGKILL after 5 s, or at once on a second signal) and leaves the store
consistent; ``resume=True`` continues.

A lost store (``study.db`` deleted, replaced or made unwritable while the study
runs: :class:`~vertex_hydra.local.store.StoreLostError`) is checked for on every
loop and every write: the running trials are ended at once (SIGKILL), nothing
more is recorded and :meth:`Study.run` raises the error, with no
:meth:`~vertex_hydra.local.observer.StudyObserver.study_ended`.

``maxFailedTrialCount``: the study stops once that many trials FAILED (those that
could not start included), cancelling the running ones as Vertex AI fails the
job; INFEASIBLE trials do not count, since they ran to the end. When it is 0
("Vertex AI decides") the limit here is ``max(3, ceil(maxTrialCount / 4))``.

Example:
    >>> from vertex_hydra.jobspec import load_job
    >>> study = Study(load_job("job.yaml"), "runs/a", parallel=2)  # doctest: +SKIP
    >>> results = study.run()  # doctest: +SKIP
    >>> study.end_reason, results.best().trial_id  # doctest: +SKIP
    ('completed', '3')
"""

from __future__ import annotations

import math
import re
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec
from vertex_hydra.jobspec._rehearsal import unrehearsed_fields
from vertex_hydra.local import reaper
from vertex_hydra.local._guards import signals_to, workdir_lock
from vertex_hydra.local.launchers import launcher_for
from vertex_hydra.local.observer import StudyEnd, StudyObserver, StudyStart, StudyStatus
from vertex_hydra.local.search import SearchSpace
from vertex_hydra.local.stopping import rules_for
from vertex_hydra.local.store import Store, StoredTrial, StoreLostError, check_store
from vertex_hydra.local.trial import TrialRun, TrialStartError, trial_timeout
from vertex_hydra.local.trial_process import GRACE_SECONDS
from vertex_hydra.results import StudyResults, TrialResult
from vertex_hydra.results.table import write_csv

__all__ = ["END_REASONS", "Study", "default_workdir", "failure_limit"]

#: The values of :attr:`Study.end_reason` after :meth:`Study.run`.
END_REASONS = ("completed", "failures", "interrupted")

_POLL_SECONDS = 0.01  # how soon a finished trial is noticed and the next one starts
_CHECK_SECONDS = 0.5  # how often metric files are read (hypertune keeps only 100 reports)
_STATUS_SECONDS = 1.0


def failure_limit(job: JobSpec, max_trials: int) -> int:
    """FAILED trials that stop the study: ``maxFailedTrialCount``, or the rule for 0.

    Example:
        >>> failure_limit(job, 40)  # maxFailedTrialCount: 0  # doctest: +SKIP
        10
    """
    return job.max_failed_trial_count or max(3, math.ceil(max_trials / 4))


def default_workdir(job: JobSpec) -> Path:
    """``./vertex-hydra-local/<displayName, or job folder-job file stem>``.

    Example:
        >>> default_workdir(load_job("examples/digits/job.yaml"))  # doctest: +SKIP
        PosixPath('vertex-hydra-local/digits-job')
    """
    name = job.display_name or (
        f"{job.path.resolve().parent.name}-{job.path.stem}" if job.path else "study"
    )
    return Path("vertex-hydra-local") / (re.sub(r"[^\w.-]+", "_", name).strip("._") or "study")


@dataclass
class _Running:
    run: TrialRun
    stop_reason: str | None = None  # "rule" or "interrupt"


def _make_folders(workdir: Path) -> list[Path]:
    """Create ``workdir`` and its missing parents, each with a ``.gitignore`` of ``*``."""
    created = [p for p in (workdir, *workdir.parents) if not p.exists()]
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        for folder in created:
            (folder / ".gitignore").write_text("# created by vertex-hydra local\n*\n")
    except OSError as error:
        raise ConfigurationError(
            f"cannot create the study folder {workdir}: {error.strerror or error}. "
            "Fix: pass --workdir a folder you can write to."
        ) from None
    return created


class Study:
    """One local study: run (or resume) it with :meth:`run`.

    Args:
        job: The job file.
        workdir: Holds ``study.db``, ``trials/<id>/``, ``outputs/`` and ``trials.csv``.
        parallel: Trials at once (default ``parallelTrialCount``).
        max_trials: Total trials (default ``maxTrialCount``; on resume, the
            ``max_trials`` the study was last run with).
        seed: Seeds the sampler.
        resume: Continue the study in ``workdir``.

    Attributes:
        end_reason: After :meth:`run`: one of :data:`END_REASONS`.
        signal: After :meth:`run`: the name of the signal that interrupted it, or ``None``.

    Example:
        >>> from vertex_hydra.jobspec import load_job
        >>> study = Study(load_job("job.yaml"), "runs/a", parallel=2, seed=0)  # doctest: +SKIP
        >>> len(study.run().trials), study.end_reason  # doctest: +SKIP
        (8, 'completed')
    """

    def __init__(
        self,
        job: JobSpec,
        workdir: str | Path,
        *,
        parallel: int | None = None,
        max_trials: int | None = None,
        seed: int | None = None,
        resume: bool = False,
    ) -> None:
        # Absolute, because trials run in the job file's folder and get paths in it.
        self.job, self.workdir, self.seed, self.resume = job, Path(workdir).resolve(), seed, resume
        self.parallel = parallel or job.parallel_trial_count
        self.space = SearchSpace(job.parameters, job.algorithm)
        self._max_trials_given = max_trials
        self.max_trials = self._cap(max_trials or job.max_trial_count)
        self.rules, self.unapplied_rules = rules_for(job)
        self.launcher = launcher_for(job, self.workdir)
        trial_timeout(job)  # a malformed timeout fails before anything is created
        self.end_reason: str | None = None
        self.signal: str | None = None
        self._running: list[_Running] = []
        self._signals = 0
        self._finished = self._failed = 0
        self._lost: StoreLostError | None = None

    def _cap(self, max_trials: int) -> int:
        if self.job.algorithm == "GRID_SEARCH":
            return min(max_trials, self.space.grid_size())
        return max_trials

    def run(self, observer: StudyObserver | None = None) -> StudyResults:
        """Run the study to its end, to the failure limit, or until a signal.

        Args:
            observer: Told of every event (default: none).

        Returns:
            Every recorded trial, read from the store.

        Raises:
            ConfigurationError: The workdir cannot be used (not creatable, another
                runner holds it, a study is there without ``resume`` or missing with
                it, the job file changed since the study began). Nothing is left
                behind then: no lock, no new folder.
            StoreLostError: ``study.db`` was deleted, replaced or made unwritable
                while the study ran; its trials were ended and nothing is kept.
        """
        self.observer = observer or StudyObserver()
        self.job.trial_command()  # a job that cannot start fails before any trial
        check_store(self.workdir, resume=self.resume)
        created = _make_folders(self.workdir)
        try:
            with workdir_lock(self.workdir), signals_to(self._on_signal):
                # A runner killed with kill -9 may have left trials: end them before any starts.
                reaper.end(reaper.study_prefix(self.workdir), prefix=True)
                watchdog = reaper.Watchdog(self.workdir)
                try:
                    self.store = self._open()
                    self._loop()
                except StoreLostError as error:
                    self._lost = self._lost or error
                finally:
                    self._cancel(grace=0.0 if self._running else GRACE_SECONDS)
                    while self._running:
                        self._poll()
                        time.sleep(_POLL_SECONDS)
                    watchdog.close()
        except ConfigurationError:
            if created and not (self.workdir / "study.db").exists():
                shutil.rmtree(created[-1], ignore_errors=True)
            raise
        if self._lost is not None:
            raise self._lost
        results = self.store.results()  # raises StoreLostError if it is lost by now
        self.store.close()
        self.end_reason = (
            "interrupted"
            if self.signal is not None
            else ("failures" if self._failed >= self._limit() else "completed")
        )
        self.observer.study_ended(
            StudyEnd(
                self.end_reason,
                self.signal,
                results,
                self._failed,
                self._limit(),
                self.store.path,
            )
        )
        return results

    def _limit(self) -> int:
        return failure_limit(self.job, self.max_trials)

    def _open(self) -> Store:
        store = Store.open(self.workdir, self.job, seed=self.seed, resume=self.resume)
        # --max-trials is part of the study: a plain --resume keeps it, a new one extends it.
        if self._max_trials_given is not None:
            store.max_trials = self._max_trials_given
        elif store.max_trials is not None:
            self.max_trials = self._cap(store.max_trials)
        stale = store.requeue_stale()
        if self.resume and store.upgrade():
            self.observer.note(
                f"{store.path} was upgraded: measurements are now Optuna intermediate values"
            )
        done = store.results().trials
        self._finished = len(done)
        self._failed = sum(t.state == "FAILED" for t in done)
        self.observer.study_started(
            StudyStart(
                self.workdir,
                self.max_trials,
                self.parallel,
                self.job.algorithm,
                self._finished,
                tuple(stale),
                self.job.metrics,
                self.job.columns,
            )
        )
        for field in unrehearsed_fields(self.job):  # stopping specs, pools 2-3, scheduling, ...
            self.observer.note(field.line())
        return store

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        self.signal = signal.Signals(signum).name
        self._cancel(grace=0.0 if self._signals > 1 else GRACE_SECONDS)

    def _stopping(self) -> bool:
        return self.signal is not None or self._failed >= self._limit()

    def _cancel(self, grace: float = GRACE_SECONDS) -> None:
        """Stop the running trials for good: they are interrupted and re-run on resume.

        Called from the signal handler and again on every loop, which catches a
        trial started while the handler ran. A trial already being cancelled
        keeps its deadline, unless ``grace`` is 0. A trial whose process has
        already ended on its own is left to be recorded.
        """
        for r in self._running:
            if r.run.poll():
                continue
            if r.stop_reason != "interrupt" or grace == 0.0:
                r.stop_reason = "interrupt"
                r.run.stop(grace)

    def _loop(self) -> None:
        last_check = last_status = 0.0
        while True:
            self.store.check()
            self._poll()
            if self._lost is not None:
                raise self._lost
            if self._stopping():
                self._cancel()
            now = time.monotonic()
            if now - last_check >= _CHECK_SECONDS:
                last_check = now
                self._read_metrics()
            started = False
            if (
                not self._stopping()
                and len(self._running) < self.parallel
                and self._finished + len(self._running) < self.max_trials
            ):
                self._start()  # one at a time: running trials are polled between starts
                started = True
            if not self._running and not started:
                return
            if now - last_status >= _STATUS_SECONDS:
                last_status = now
                self._status()
            if not started:
                time.sleep(_POLL_SECONDS)

    def _status(self) -> None:
        self.observer.status(
            StudyStatus(
                tuple(r.run.trial.trial_id for r in self._running),
                self._finished,
                self.max_trials,
                self.store.results().best(),
            )
        )

    def _poll(self) -> None:
        for r in list(self._running):
            if r.run.poll():
                self._running.remove(r)
                self._finish(r)

    def _start(self) -> None:
        trial = self.store.ask()
        try:
            run = self.launcher.start(trial)
        except TrialStartError as error:
            failed = TrialResult(
                trial.trial_id, "FAILED", trial.parameters, {}, 0.0, [], str(error)
            )
            self._record(failed, trial)
            return
        self._running.append(_Running(run))
        self.observer.trial_started(trial.trial_id, trial.parameters)

    def _read_metrics(self) -> None:
        """Read the running trials' metric files while they run, and apply the stopping rules.

        Read them even without a rule: hypertune's file keeps only the last 100
        reports, and BEST_MEASUREMENT may be among the earlier ones.
        """
        completed = None
        for r in self._running:
            if not r.run.refresh():
                continue
            curve = r.run.measurements()
            if curve:
                self.observer.trial_measured(r.run.trial.trial_id, curve[-1])
            if r.stop_reason is not None or not self.rules:
                continue
            if completed is None:
                completed = [
                    t.measurements
                    for t in self.store.results().trials
                    if t.state in ("SUCCEEDED", "STOPPED")
                ]
            for rule in self.rules:
                reason = rule.check(curve, completed)
                if reason is not None:
                    r.stop_reason = "rule"
                    r.run.stop(GRACE_SECONDS)
                    self.observer.trial_stopping(r.run.trial.trial_id, reason)
                    break

    def _finish(self, r: _Running) -> None:
        trial = r.run.trial
        if self._lost is not None:
            return  # nothing can be recorded any more
        try:
            if r.stop_reason == "interrupt":
                self.store.interrupt(trial)
                self.observer.trial_interrupted(trial.trial_id, r.run.seconds)
                return
            result = r.run.outcome(stopped_early=r.stop_reason == "rule")
            for text in r.run.notes:  # e.g. lines of another trial in its metric file
                self.observer.note(f"trial {trial.trial_id}: {text}")
            self._record(result, trial)
        except StoreLostError as error:
            self._lost = error
            self._cancel(grace=0.0)

    def _record(self, result: TrialResult, trial: StoredTrial) -> None:
        self.store.record(trial, result)
        self._finished += 1
        self._failed += result.state == "FAILED"
        write_csv(self.store.results(), self.workdir / "trials.csv")
        self.observer.trial_finished(result)
