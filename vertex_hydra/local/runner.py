"""The local study runner behind ``vertex-hydra local``.

Trials start exactly as on Vertex AI (:meth:`JobSpec.trial_argv`, :meth:`JobSpec.trial_env`),
``parallelTrialCount`` at a time, each in its own process group with its
output in ``<workdir>/trials/<id>/``. Parameters come from Optuna
(:mod:`vertex_hydra.local.search`), the study lives in ``<workdir>/study.db``
(:mod:`vertex_hydra.local.store`), measurements are read from each trial's hypertune
file (:mod:`vertex_hydra.local.metrics_file`) and the median stopping rule is
:mod:`vertex_hydra.local.stopping`. SIGINT or SIGTERM stops every trial's group
(SIGTERM, then SIGKILL after 5 s, or at once on a second signal) and leaves
the store consistent; ``--resume`` continues (see :mod:`vertex_hydra.local.store`).

``maxFailedTrialCount``: the study stops (exit status 1) once that many trials
FAILED, cancelling the running ones as Vertex AI fails the job; INFEASIBLE
trials do not count, since they ran to the end. When it is 0 ("Vertex AI
decides") the limit here is ``max(3, ceil(maxTrialCount / 4))``.

Example:
    >>> from vertex_hydra.jobspec import load_job
    >>> LocalStudy(load_job("job.yaml"), Path("runs/a"), parallel=2).run()  # doctest: +SKIP
    0
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec
from vertex_hydra.local._guards import signals_to, workdir_lock

__all__ = ["LocalStudy", "failure_limit"]

_POLL_SECONDS = 0.01  # how soon a finished trial is noticed and the next one starts
_CHECK_SECONDS = 0.5  # how often metric files are read (hypertune keeps only 100 reports)


def failure_limit(job: JobSpec, max_trials: int) -> int:
    """FAILED trials that stop the study: ``maxFailedTrialCount``, or the rule for 0.

    Example:
        >>> failure_limit(job, 40)  # maxFailedTrialCount: 0  # doctest: +SKIP
        10
    """
    return job.max_failed_trial_count or max(3, math.ceil(max_trials / 4))


@dataclass
class _Running:
    trial: Any
    trial_id: str
    parameters: dict[str, float | str]
    proc: Any
    log: Any
    stop_reason: str | None = None  # "median" or "interrupt"
    curve: list[Any] = field(default_factory=list)


class LocalStudy:
    """Runs (or resumes) one local study; :meth:`run` returns the exit status.

    Args:
        job: The job file.
        workdir: Holds ``study.db``, ``trials/<id>/``, ``outputs/``, ``trials.csv`` and plots.
        parallel: Trials at once (default ``parallelTrialCount``).
        max_trials: Total trials (default ``maxTrialCount``).
        seed: Seeds the sampler.
        resume: Continue the study in ``workdir``.
        stream: Where progress and results are written (default stdout).

    Example:
        >>> from vertex_hydra.jobspec import load_job
        >>> LocalStudy(load_job("job.yaml"), Path("runs/a"), parallel=2).run()  # doctest: +SKIP
        0
    """

    def __init__(
        self,
        job: JobSpec,
        workdir: Path,
        *,
        parallel: int | None = None,
        max_trials: int | None = None,
        seed: int | None = None,
        resume: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        from vertex_hydra.local.search import SearchSpace

        # Absolute, because trials run in the job file's folder and get paths in it.
        self.job, self.workdir, self.seed, self.resume = job, Path(workdir).resolve(), seed, resume
        self.parallel = parallel or job.parallel_trial_count
        self.space = SearchSpace(job.parameters, job.algorithm)
        self._max_trials_given = max_trials
        self.max_trials = self._cap(max_trials or job.max_trial_count)
        self.stream = stream or sys.stdout
        self.median = job.stopping.get("medianAutomatedStoppingSpec")
        self.running: list[_Running] = []
        self.stopping: str | None = None  # why no new trial starts: a signal name or "failures"
        self._signals = 0

    def _cap(self, max_trials: int) -> int:
        if self.job.algorithm == "GRID_SEARCH":
            return min(max_trials, self.space.grid_size())
        return max_trials

    def run(self) -> int:
        """Run the study to the end, or until interrupted; render the results.

        Returns:
            0 when the study ran to its end, 1 when ``maxFailedTrialCount`` stopped
            it, 130 or 143 when SIGINT or SIGTERM interrupted it.

        Raises:
            ConfigurationError: The workdir cannot be used (not creatable, another
                runner holds it, a study is there without ``resume`` or missing with
                it, the job file changed since the study began).
        """
        from vertex_hydra.local.progress import Progress
        from vertex_hydra.local.store import (
            load_results,
            open_study,
            requeue_stale_trials,
        )
        from vertex_hydra.results import StudyResults, render

        self.job.trial_command()  # a job that cannot start fails before any trial
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(
                f"cannot create the study folder {self.workdir}: {error.strerror or error}. "
                "Fix: pass --workdir a folder you can write to."
            ) from None
        with workdir_lock(self.workdir), signals_to(self._on_signal):
            self.study = open_study(self.workdir, self.job, seed=self.seed, resume=self.resume)
            # --max-trials is part of the study: a plain --resume keeps it, a new one extends it.
            if self._max_trials_given is not None:
                self.study.set_user_attr("max_trials", self._max_trials_given)
            elif "max_trials" in self.study.user_attrs:
                self.max_trials = self._cap(int(self.study.user_attrs["max_trials"]))
            self.progress = Progress(self.stream, self.max_trials)
            stale = requeue_stale_trials(self.study)
            if stale:
                self.progress.event(
                    f"trials {', '.join(stale)} were cut off by the last run's "
                    "end: they run again under new ids"
                )
            self.results: StudyResults = load_results(self.study, self.job)
            self.done_curves = [
                t.user_attrs["vertex"]["measurements"]
                for t in self.study.get_trials(deepcopy=False)
                if t.user_attrs.get("vertex", {}).get("state") in ("SUCCEEDED", "STOPPED")
            ]
            self._announce()
            self._loop()
            self.progress.close()
        if self.stopping not in (None, "failures"):
            self.stream.write(
                f"Interrupted by {self.stopping}: {len(self.results.trials)} finished trials kept "
                f"in {self.workdir / 'study.db'}; trials cut short re-run on resume.\n"
                f"Resume with: vertex-hydra local {self.job.path} --workdir {self.workdir} --resume\n"
            )
            return 130 if self.stopping == "SIGINT" else 143
        render(load_results(self.study, self.job), self.workdir, self.stream)
        if self.stopping == "failures":
            self.stream.write(
                f"Study stopped: {self._failed()} trials FAILED (limit "
                f"{failure_limit(self.job, self.max_trials)}, maxFailedTrialCount="
                f"{self.job.max_failed_trial_count}). See each trial's stderr.log.\n"
            )
            return 1
        return 0

    def _announce(self) -> None:
        algorithm = self.job.algorithm or "Bayesian optimisation (Optuna TPE)"
        self.progress.event(
            f"study in {self.workdir}: {self.max_trials} trials, {self.parallel} at a time, "
            f"{algorithm}, {len(self.results.trials)} already finished"
        )
        for name in sorted(set(self.job.stopping) - {"medianAutomatedStoppingSpec"}):
            self.progress.event(f"note: {name} is not applied locally (only the median rule is)")

    def _failed(self) -> int:
        return sum(t.state == "FAILED" for t in self.results.trials)

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        self.stopping = signal.Signals(signum).name
        self._cancel(grace=0.0 if self._signals > 1 else 5.0)

    def _cancel(self, grace: float = 5.0) -> None:
        """Stop the running trials for good: they are interrupted and re-run on resume.

        Called from the signal handler and again on every loop, which catches a
        trial started while the handler ran (not yet in ``self.running`` then).
        A trial already being cancelled keeps its deadline, unless ``grace`` is 0.
        A trial whose process has already ended on its own is left to be recorded.
        """
        for r in self.running:
            if r.proc.popen.poll() is not None:
                continue
            if r.stop_reason != "interrupt" or grace == 0.0:
                r.stop_reason = "interrupt"
                r.proc.stop(grace)

    def _loop(self) -> None:
        last_check = last_status = 0.0
        while True:
            for r in list(self.running):
                code = r.proc.poll()
                if code is not None:
                    self.running.remove(r)
                    self._finish(r, code)
            if self.stopping is None and self._failed() >= failure_limit(self.job, self.max_trials):
                self.stopping = "failures"
            if self.stopping is not None:
                self._cancel()
            now = time.monotonic()
            if now - last_check >= _CHECK_SECONDS:
                last_check = now
                self._read_metrics()
            while (
                self.stopping is None
                and len(self.running) < self.parallel
                and len(self.results.trials) + len(self.running) < self.max_trials
            ):
                self._start()
            if not self.running:
                return
            if now - last_status >= 1.0:
                last_status = now
                best = self.results.best()
                self.progress.status(
                    [r.trial_id for r in self.running],
                    len(self.results.trials),
                    None if best is None else f"trial {best.trial_id} {_values(best.values)}",
                )
            time.sleep(_POLL_SECONDS)

    def _start(self) -> None:
        from vertex_hydra.local.metrics_file import MetricLog
        from vertex_hydra.local.store import trial_id
        from vertex_hydra.local.trial_process import TrialProcess

        trial = self.study.ask(self.space.distributions())
        tid = trial_id(trial)
        params = self.space.to_vertex(trial.params)
        trial.set_user_attr("vertex_parameters", params)
        folder = self.workdir / "trials" / tid
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_ML_", "AIP_"))}
        env.update(
            self.job.trial_env(
                tid,
                metric_file=folder / "output.metrics",
                job_id=f"local-{self.workdir.name}",
                output_root=self.workdir / "outputs",
            )
        )
        for key in ("AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR"):
            if key in env:
                Path(env[key]).mkdir(parents=True, exist_ok=True)
        argv = self.job.trial_argv(params)
        # A folder left by an earlier study in this workdir must not lend its reports.
        (folder / "output.metrics").unlink(missing_ok=True)
        running = _Running(trial, tid, params, None, MetricLog(folder / "output.metrics"))
        try:
            running.proc = TrialProcess(argv, env, self.job.working_dir, folder)
        except OSError as error:
            self._record(
                running,
                "FAILED",
                0.0,
                error=(
                    f"cannot start {argv[0]!r} in {self.job.working_dir}: {error.strerror or error}. "
                    "Fix: check containerSpec.command / pythonPackageSpec in the job file."
                ),
            )
            return
        self.running.append(running)
        self.progress.event(f"trial {tid} started: {_values(params)}")

    def _curve(self, r: _Running) -> list[Any]:
        from vertex_hydra.local.metrics_file import measurements

        ids = [m.metric_id for m in self.job.metrics]
        stamps: dict[int, float] = {}
        for rep in r.log.reports:
            if rep.tag in ids:
                stamps[rep.step] = max(stamps.get(rep.step, 0.0), rep.timestamp)
        return [
            [step, round(stamps[step] - r.proc.started_wall, 3), values]
            for step, values in measurements(r.log.reports, ids)
        ]

    def _positions(self, curve: list[Any]) -> list[tuple[float, float]]:
        first = self.job.metrics[0].metric_id
        at = 1 if (self.median or {}).get("useElapsedDuration") else 0
        return [
            (float(c[at]), c[2][first])
            for c in curve
            if first in c[2] and math.isfinite(c[2][first])
        ]

    def _read_metrics(self) -> None:
        """Read the running trials' metric files while they run, and apply the median rule.

        Read them even without the rule: hypertune's file keeps only the last 100
        reports, and BEST_MEASUREMENT may be among the earlier ones.
        """
        from vertex_hydra.local.stopping import should_stop

        done: list[list[tuple[float, float]]] | None = None
        for r in self.running:
            if r.log.refresh() and self.median is not None and r.stop_reason is None:
                if done is None:
                    done = [self._positions(curve) for curve in self.done_curves]
                mine = self._positions(self._curve(r))
                if should_stop(mine, done, self.job.metrics[0].goal):
                    r.stop_reason = "median"
                    r.proc.stop()
                    where = "s" if (self.median or {}).get("useElapsedDuration") else "step"
                    self.progress.event(
                        f"trial {r.trial_id} stopping: worse than the median of finished "
                        f"trials at {where} {mine[-1][0]:g} (median rule)"
                    )

    def _finish(self, r: _Running, code: int) -> None:
        from vertex_hydra.local.metrics_file import final_measurement
        from vertex_hydra.local.store import interrupt_trial
        from vertex_hydra.local.trial_process import describe_exit

        if r.stop_reason == "interrupt":
            interrupt_trial(self.study, r.trial.number)
            self.progress.event(f"trial {r.trial_id} interrupted after {r.proc.seconds:.1f} s")
            return
        r.log.refresh(force=True)  # a last rewrite may keep the size and the mtime tick
        r.curve = self._curve(r)
        values, reason = final_measurement(
            r.log.reports, self.job.metrics, self.job.measurement_selection
        )
        if r.stop_reason != "median" and code != 0:
            tail = r.proc.stderr_tail()
            self._record(
                r,
                "FAILED",
                r.proc.seconds,
                error=f"{describe_exit(code)}" + (f"; stderr ends:\n{tail}" if tail else ""),
            )
        elif reason is not None:
            self._record(r, "INFEASIBLE", r.proc.seconds, error=reason)
        else:
            state = "STOPPED" if r.stop_reason == "median" else "SUCCEEDED"
            self._record(r, state, r.proc.seconds, values=values)

    def _record(
        self,
        r: _Running,
        state: str,
        seconds: float,
        *,
        values: dict[str, float] | None = None,
        error: str | None = None,
    ) -> None:
        from vertex_hydra.local.store import record_trial
        from vertex_hydra.results import Measurement, TrialResult

        result = TrialResult(
            r.trial_id,
            state,
            r.parameters,
            values or {},
            round(seconds, 3),
            [Measurement(c[0], c[1], c[2]) for c in r.curve],
            error,
        )
        record_trial(self.study, r.trial, result, r.curve, self.job)
        if state in ("SUCCEEDED", "STOPPED"):
            self.done_curves.append(r.curve)
        self.results.trials.append(result)
        lines = (error or "").splitlines() or [""]
        # One line per event: the error's first line, and the last line of a stderr tail.
        shown = (
            _values(result.values)
            if result.values
            else (lines[0] + (f" ... {lines[-1].strip()}" if len(lines) > 1 else ""))
        )
        self.progress.event(f"trial {r.trial_id} {state} in {seconds:.1f} s: {shown}")


def _fmt(value: float | str) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _values(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={_fmt(v)}" for k, v in values.items())
