"""The lifecycle of one trial: start it, read its measurements, stop it, say how it ended.

The scheduler (:mod:`vertex_hydra.local.study`) sees a trial only through
:class:`TrialRun` and starts one through a :class:`TrialLauncher`, so a trial made
of several processes (one per replica of ``workerPoolSpecs``) is another pair of
classes here, chosen by :func:`vertex_hydra.local.launchers.launcher_for`, with no change
to the scheduler.

:class:`ProcessTrial` is a trial of one process, as Vertex AI runs
``workerPoolSpecs[0]`` with one replica: argv and environment from
:meth:`JobSpec.trial_argv` and :meth:`JobSpec.trial_env`, output in
``<workdir>/trials/<id>/``, measurements from its hypertune file. :func:`conclude`
turns an exit status and a metric log into the recorded :class:`TrialResult`, as
Vertex AI decides a trial's state.

Example:
    >>> launcher = ProcessLauncher(job, Path("runs/a"))  # doctest: +SKIP
    >>> run = launcher.start(store.ask())  # doctest: +SKIP
    >>> while not run.poll(): run.refresh()  # doctest: +SKIP
    >>> run.outcome().state  # doctest: +SKIP
    'SUCCEEDED'
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Protocol

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec
from vertex_hydra.local import reaper
from vertex_hydra.local.metrics_file import MetricLog, curve, final_measurement
from vertex_hydra.local.store import StoredTrial
from vertex_hydra.local.trial_process import (
    GRACE_SECONDS,
    TrialProcess,
    describe_exit,
    inherited_environment,
)
from vertex_hydra.results import Measurement, TrialResult

__all__ = [
    "ProcessLauncher",
    "ProcessTrial",
    "TrialLauncher",
    "TrialRun",
    "TrialStartError",
    "conclude",
    "trial_timeout",
]


def trial_timeout(job: JobSpec) -> float | None:
    """``trialJobSpec.scheduling.timeout`` in seconds (a protobuf Duration, e.g. ``"3600s"``).

    Raises:
        ConfigurationError: It is not a Duration.

    Example:
        >>> from vertex_hydra.jobspec import JobSpec
        >>> spec = {"studySpec": {"metrics": [{"metricId": "a", "goal": "MAXIMIZE"}],
        ...         "parameters": [{"parameterId": "x", "doubleValueSpec": {"minValue": 0,
        ...         "maxValue": 1}}]}, "trialJobSpec": {"scheduling": {"timeout": "1.5s"},
        ...         "workerPoolSpecs": [{"containerSpec": {"imageUri": "i", "command": ["t"]}}]}}
        >>> trial_timeout(JobSpec.from_dict(spec))
        1.5
    """
    scheduling: Any = (job.raw.get("trialJobSpec") or {}).get("scheduling") or {}
    text = scheduling.get("timeout")
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ConfigurationError(
            f"trialJobSpec.scheduling.timeout must be a positive Duration in seconds, got "
            f"{text!r}. Fix: write it as Vertex AI does, e.g. timeout: 3600s."
        )
    return float(match.group(1))


class TrialStartError(Exception):
    """The trial could not start; the message is its recorded error (one sentence with a fix).

    Example:
        >>> str(TrialStartError("cannot start 'x'. Fix: ..."))
        "cannot start 'x'. Fix: ..."
    """


class TrialRun(Protocol):
    """A started trial, as the scheduler sees it.

    Example:
        >>> run.poll(), run.refresh(), run.measurements()  # doctest: +SKIP
        (False, True, [Measurement(step=1, elapsed=0.4, values={'acc': 0.5})])
    """

    trial: StoredTrial

    def poll(self) -> bool:
        """Whether the trial has ended (every process of it); enforces a pending stop."""
        ...

    def refresh(self) -> bool:
        """Read the trial's reports again; whether new ones arrived."""
        ...

    def measurements(self) -> list[Measurement]:
        """Every measurement read so far, by step."""
        ...

    @property
    def notes(self) -> list[str]:
        """What reading the trial's metric file found worth telling the user (each once)."""
        ...

    def stop(self, grace: float) -> None:
        """Ask the trial to end (SIGTERM), and force it (SIGKILL) after ``grace`` seconds."""
        ...

    @property
    def seconds(self) -> float:
        """Wall time from start to end (or to now, while it runs)."""
        ...

    def outcome(self, *, stopped_early: bool = False) -> TrialResult:
        """The trial's result once it has ended (``stopped_early``: a rule stopped it)."""
        ...


class TrialLauncher(Protocol):
    """Starts trials of one study.

    Example:
        >>> ProcessLauncher(job, Path("runs/a")).start(trial)  # doctest: +SKIP
        <vertex_hydra.local.trial.ProcessTrial object at ...>
    """

    def start(self, trial: StoredTrial) -> TrialRun:
        """Start ``trial``.

        Raises:
            TrialStartError: It cannot start (its recorded error is the message).
        """
        ...


def conclude(
    job: JobSpec,
    trial: StoredTrial,
    *,
    code: int,
    log: MetricLog,
    measurements: list[Measurement],
    seconds: float,
    stopped_early: bool,
    stderr_tail: str,
) -> TrialResult:
    """The result of an ended trial, as Vertex AI decides it.

    A non-zero exit FAILED it (unless a rule stopped it), a missing or
    non-finite final measurement makes it INFEASIBLE, else it SUCCEEDED (or
    was STOPPED by a rule, keeping its final measurement).

    Example:
        >>> conclude(job, trial, code=3, log=log, measurements=[], seconds=1.0,
        ...          stopped_early=False, stderr_tail="boom").state  # doctest: +SKIP
        'FAILED'
    """
    values, reason = final_measurement(log.reports, job.metrics, job.measurement_selection)
    state, error = "SUCCEEDED", None
    if not stopped_early and code != 0:
        state = "FAILED"
        error = describe_exit(code) + (f"; stderr ends:\n{stderr_tail}" if stderr_tail else "")
        values = {}
    elif reason is not None:
        state, error = "INFEASIBLE", reason
    elif stopped_early:
        state = "STOPPED"
    return TrialResult(
        trial.trial_id, state, trial.parameters, values, round(seconds, 3), measurements, error
    )


class ProcessTrial:
    """A trial of one process (see the module docs).

    Args:
        job: The job file.
        trial: The trial handed out by the store.
        workdir: The study folder.

    Raises:
        TrialStartError: The program cannot be started.

    Example:
        >>> run = ProcessTrial(job, store.ask(), Path("runs/a"))  # doctest: +SKIP
    """

    def __init__(self, job: JobSpec, trial: StoredTrial, workdir: Path) -> None:
        self.job, self.trial = job, trial
        folder = workdir / "trials" / trial.trial_id
        metric_file = folder / "output.metrics"
        env = inherited_environment()
        env.update(
            job.trial_env(
                trial.trial_id,
                metric_file=metric_file,
                job_id=f"local-{workdir.name}",
                output_root=workdir / "outputs",
            )
        )
        env[reaper.MARKER] = reaper.marker(workdir, trial.trial_id)
        for key in ("AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR"):
            if key in env:
                Path(env[key]).mkdir(parents=True, exist_ok=True)
        argv = job.trial_argv(trial.parameters)
        # A folder left by an earlier study in this workdir must not lend its reports.
        metric_file.unlink(missing_ok=True)
        self.log = MetricLog(metric_file, trial_id=trial.trial_id)
        try:
            self.process = TrialProcess(argv, env, job.working_dir, folder)
        except OSError as error:
            raise TrialStartError(
                f"cannot start {argv[0]!r} in {job.working_dir}: {error.strerror or error}. "
                "Fix: check containerSpec.command / pythonPackageSpec in the job file."
            ) from None
        self._ids = [m.metric_id for m in job.metrics]
        self.timeout = trial_timeout(job)
        self.timed_out = False

    def poll(self) -> bool:
        """See :meth:`TrialRun.poll`; also stops a trial that runs past its timeout."""
        ended = self.process.poll() is not None
        if (
            not ended
            and self.timeout is not None
            and not self.timed_out
            and time.monotonic() - self.process.started > self.timeout
        ):
            self.timed_out = True
            self.process.stop(GRACE_SECONDS)
        return ended

    def refresh(self) -> bool:
        """See :meth:`TrialRun.refresh`."""
        return self.log.refresh()

    def measurements(self) -> list[Measurement]:
        """See :meth:`TrialRun.measurements`."""
        return curve(self.log.reports, self._ids, self.process.started_wall)

    @property
    def notes(self) -> list[str]:
        """See :meth:`TrialRun.notes`."""
        return self.log.notes

    def stop(self, grace: float) -> None:
        """See :meth:`TrialRun.stop`."""
        self.process.stop(grace)

    @property
    def seconds(self) -> float:
        """See :meth:`TrialRun.seconds`."""
        return self.process.seconds

    def outcome(self, *, stopped_early: bool = False) -> TrialResult:
        """See :meth:`TrialRun.outcome`."""
        code = self.process.poll()
        assert code is not None, "outcome() of a trial that still runs"
        # The process has exited: a last line without newline is complete, and a last
        # rewrite may have kept the size and the mtime tick.
        self.log.refresh(final=True)
        if self.timed_out:
            return TrialResult(
                self.trial.trial_id,
                "FAILED",
                self.trial.parameters,
                {},
                round(self.process.seconds, 3),
                self.measurements(),
                f"ran past trialJobSpec.scheduling.timeout ({self.timeout:g} s) and was stopped "
                f"({describe_exit(code)}), as Vertex AI ends such a trial",
            )
        return conclude(
            self.job,
            self.trial,
            code=code,
            log=self.log,
            measurements=self.measurements(),
            seconds=self.process.seconds,
            stopped_early=stopped_early,
            stderr_tail=self.process.stderr_tail() if code != 0 else "",
        )


class ProcessLauncher:
    """Starts each trial as one :class:`ProcessTrial`.

    Example:
        >>> ProcessLauncher(job, Path("runs/a")).start(trial)  # doctest: +SKIP
        <vertex_hydra.local.trial.ProcessTrial object at ...>
    """

    def __init__(self, job: JobSpec, workdir: Path) -> None:
        self.job, self.workdir = job, workdir

    def start(self, trial: StoredTrial) -> TrialRun:
        """See :meth:`TrialLauncher.start`."""
        return ProcessTrial(self.job, trial, self.workdir)
