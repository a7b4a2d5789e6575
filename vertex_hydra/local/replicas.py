"""A trial of several replicas: every replica of ``workerPoolSpecs[0]`` and ``[1]``, one process each.

On Vertex AI a trial whose ``workerPoolSpecs[1]`` has replicas runs on several
machines: the chief (pool 0, node 0) and the workers (pool 1, nodes 1, 2, ...).
:class:`ReplicaTrial` rehearses that on this machine. Each replica is a
:class:`~vertex_hydra.local.trial_process.TrialProcess` of its own, started with
its pool's command and the trial's ``--id=value`` arguments, in the environment
Vertex gives that replica:

- ``CLUSTER_SPEC`` with its task type (``workerpool0``/``workerpool1``), index
  and the trial id, every node on ``127.0.0.1`` (the chief on a free port per trial);
- ``MASTER_ADDR``, ``MASTER_PORT`` (the chief's), ``WORLD_SIZE`` (nodes) and
  ``RANK`` (node rank), as for PyTorch containers;
- its own metric file and ``AIP_*`` folders, in ``trials/<id>/<pool>-<index>/``.

The trial is one unit to the scheduler: its result is read from the chief's
metric file only; a replica that fails fails the trial with its stderr tail
and its siblings are stopped; a stop (Ctrl-C, the median rule, the timeout)
reaches every replica; the trial has ended when every process has.
Replicas of pools 2 and 3 (Reduction Server, evaluators) are not started:
the study names them as not rehearsed
(:func:`vertex_hydra.jobspec._rehearsal.unrehearsed_fields`).

Example:
    >>> launcher = ReplicaLauncher(load_job("job-multinode.yaml"), Path("runs/a"))  # doctest: +SKIP
    >>> run = launcher.start(store.ask())  # doctest: +SKIP
    >>> [r.name for r in run.replicas]  # doctest: +SKIP
    ['workerpool0-0', 'workerpool1-0']
"""

from __future__ import annotations

import dataclasses
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from vertex_hydra.cluster import cluster_spec
from vertex_hydra.jobspec import JobSpec
from vertex_hydra.local.metrics_file import MetricLog, curve
from vertex_hydra.local.store import StoredTrial
from vertex_hydra.local.trial import TrialRun, TrialStartError, conclude, trial_timeout
from vertex_hydra.local.trial_process import (
    GRACE_SECONDS,
    TrialProcess,
    describe_exit,
    inherited_environment,
)
from vertex_hydra.results import Measurement, TrialResult

__all__ = [
    "DISTRIBUTED_VARIABLES",
    "Replica",
    "ReplicaLauncher",
    "ReplicaTrial",
    "free_port",
    "replica_environment",
]

DISTRIBUTED_VARIABLES = frozenset(
    {
        "CLUSTER_SPEC",
        "TF_CONFIG",
        "MASTER_ADDR",
        "MASTER_PORT",
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "NODE_RANK",
        "GROUP_RANK",
        "LOCAL_WORLD_SIZE",
        "PL_GLOBAL_SEED",
    }
)
_AIP_DIRS = {
    "AIP_MODEL_DIR": "model",
    "AIP_CHECKPOINT_DIR": "checkpoints",
    "AIP_TENSORBOARD_LOG_DIR": "logs",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now.

    Example:
        >>> 0 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def replica_environment(
    job: JobSpec,
    trial_id: str,
    *,
    hosts: list[str],
    node_rank: int,
    folder: Path,
    job_id: str,
) -> dict[str, str]:
    """The variables Vertex AI sets for one replica of pools 0 and 1 (to add to the environment).

    Args:
        job: The job file.
        trial_id: The trial's id.
        hosts: Every node's ``host:port``, the chief first.
        node_rank: 0 for the chief, ``i + 1`` for worker ``i``.
        folder: The replica's folder: its metric file and ``AIP_*`` folders go there.
        job_id: The value of ``CLOUD_ML_JOB_ID``.

    Example:
        >>> env = replica_environment(job, "3", hosts=["127.0.0.1:2222", "127.0.0.1:2300"],
        ...                           node_rank=1, folder=Path("w"), job_id="local")  # doctest: +SKIP
        >>> env["WORLD_SIZE"], env["RANK"], env["MASTER_PORT"]  # doctest: +SKIP
        ('2', '1', '2222')
    """
    env = job.trial_env(trial_id, metric_file=folder / "output.metrics", job_id=job_id)
    for key, name in _AIP_DIRS.items():
        if key in env:
            env[key] = f"{folder / name}/"
    address, _, port = hosts[0].rpartition(":")
    env.update(
        CLUSTER_SPEC=cluster_spec(hosts, node_rank, trial_id),
        MASTER_ADDR=address,
        MASTER_PORT=port,
        WORLD_SIZE=str(len(hosts)),
        RANK=str(node_rank),
    )
    return env


@dataclass
class Replica:
    """One started replica of a trial.

    Example:
        >>> replica.name, replica.process.poll()  # doctest: +SKIP
        ('workerpool1-0', None)
    """

    name: str
    process: TrialProcess


class ReplicaTrial:
    """A trial of every replica of pools 0 and 1 (see the module docs).

    Args:
        job: The job file (``workerPoolSpecs[1]`` with ``replicaCount`` >= 1).
        trial: The trial handed out by the store.
        workdir: The study folder.

    Raises:
        TrialStartError: A replica's program cannot be started (none is left running).

    Example:
        >>> run = ReplicaTrial(job, store.ask(), Path("runs/a"))  # doctest: +SKIP
        >>> run.chief.name  # doctest: +SKIP
        'workerpool0-0'
    """

    def __init__(self, job: JobSpec, trial: StoredTrial, workdir: Path) -> None:
        self.job, self.trial = job, trial
        workers = job.replica_counts[1]
        hosts = [f"127.0.0.1:{free_port()}" for _ in range(1 + workers)]
        # A launcher's leftovers would place the replica in another world.
        base = inherited_environment(DISTRIBUTED_VARIABLES)
        self.replicas: list[Replica] = []
        self.failed: Replica | None = None
        self.timeout = trial_timeout(job)
        self.timed_out = False
        folder = workdir / "trials" / trial.trial_id
        for rank in range(1 + workers):
            pool, index = (0, 0) if rank == 0 else (1, rank - 1)
            name = f"workerpool{pool}-{index}"
            where = folder / name
            env = dict(base)
            env.update(
                replica_environment(
                    job,
                    trial.trial_id,
                    hosts=hosts,
                    node_rank=rank,
                    folder=where,
                    job_id=f"local-{workdir.name}",
                )
            )
            for key in _AIP_DIRS:
                if key in env:
                    Path(env[key]).mkdir(parents=True, exist_ok=True)
            # A folder left by an earlier study in this workdir must not lend its reports.
            (where / "output.metrics").unlink(missing_ok=True)
            argv = job.pool_argv(pool, trial.parameters)
            try:
                process = TrialProcess(argv, env, job.working_dir, where)
            except OSError as error:
                self._kill_all()
                raise TrialStartError(
                    f"cannot start replica {name} ({argv[0]!r} in {job.working_dir}): "
                    f"{error.strerror or error}. Fix: check workerPoolSpecs[{pool}]'s "
                    "containerSpec.command / pythonPackageSpec in the job file."
                ) from None
            self.replicas.append(Replica(name, process))
        self.chief = self.replicas[0]
        self.log = MetricLog(folder / self.chief.name / "output.metrics", trial_id=trial.trial_id)
        self._ids = [m.metric_id for m in job.metrics]

    def _kill_all(self) -> None:
        for replica in self.replicas:
            replica.process.stop(0.0)
            replica.process.wait(10)

    def poll(self) -> bool:
        """See :meth:`TrialRun.poll`: ended once every replica has.

        The first replica to fail fails the trial and its siblings are stopped,
        as are the workers once the chief has ended; also enforces the timeout.
        """
        codes = [replica.process.poll() for replica in self.replicas]
        if self.failed is None:
            for replica, code in zip(self.replicas, codes):
                if code not in (None, 0) and not replica.process.stop_requested:
                    self.failed = replica
                    self.stop(GRACE_SECONDS)
                    break
        if codes[0] is not None and not all(r.process.stop_requested for r in self.replicas):
            for replica, code in zip(self.replicas[1:], codes[1:]):
                if code is None and not replica.process.stop_requested:
                    replica.process.stop(GRACE_SECONDS)  # Vertex ends a trial with its chief
        ended = all(code is not None for code in codes)
        if (
            not ended
            and self.timeout is not None
            and not self.timed_out
            and time.monotonic() - self.chief.process.started > self.timeout
        ):
            self.timed_out = True
            self.stop(GRACE_SECONDS)
        return ended

    def refresh(self) -> bool:
        """See :meth:`TrialRun.refresh` (the chief's metric file only)."""
        return self.log.refresh()

    def measurements(self) -> list[Measurement]:
        """See :meth:`TrialRun.measurements`."""
        return curve(self.log.reports, self._ids, self.chief.process.started_wall)

    @property
    def notes(self) -> list[str]:
        """See :meth:`TrialRun.notes` (the chief's metric file)."""
        return self.log.notes

    def stop(self, grace: float) -> None:
        """See :meth:`TrialRun.stop`: every replica that still runs."""
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.process.stop(grace)

    @property
    def seconds(self) -> float:
        """See :meth:`TrialRun.seconds`: from the chief's start to the last replica's end."""
        start = self.chief.process.started
        ends = [r.process.finished for r in self.replicas]
        end = max(e for e in ends if e is not None) if None not in ends else time.monotonic()
        return end - start

    def outcome(self, *, stopped_early: bool = False) -> TrialResult:
        """See :meth:`TrialRun.outcome`: the chief's metric file, the failing replica's error."""
        codes = [replica.process.poll() for replica in self.replicas]
        assert None not in codes, "outcome() of a trial that still runs"
        self.log.refresh(final=True)  # the chief has exited: its last line is complete
        culprit = self.failed or self.chief
        code = culprit.process.poll()
        assert code is not None
        if self.timed_out:
            return TrialResult(
                self.trial.trial_id,
                "FAILED",
                self.trial.parameters,
                {},
                round(self.seconds, 3),
                self.measurements(),
                f"ran past trialJobSpec.scheduling.timeout ({self.timeout:g} s) and its "
                f"{len(self.replicas)} replicas were stopped ({describe_exit(code)}), "
                "as Vertex AI ends such a trial",
            )
        result = conclude(
            self.job,
            self.trial,
            code=code,
            log=self.log,
            measurements=self.measurements(),
            seconds=self.seconds,
            stopped_early=stopped_early,
            stderr_tail=culprit.process.stderr_tail() if code != 0 else "",
        )
        if result.state == "FAILED" and result.error:
            result = dataclasses.replace(result, error=f"replica {culprit.name}: {result.error}")
        return result


class ReplicaLauncher:
    """Starts each trial as a :class:`ReplicaTrial` (``workerPoolSpecs[1]`` has replicas).

    Pools 2 and 3 do not run; the study names them as not rehearsed
    (:func:`vertex_hydra.jobspec._rehearsal.unrehearsed_fields`).

    Example:
        >>> ReplicaLauncher(job, Path("runs/a")).start(trial)  # doctest: +SKIP
        <vertex_hydra.local.replicas.ReplicaTrial object at ...>
    """

    def __init__(self, job: JobSpec, workdir: Path) -> None:
        self.job, self.workdir = job, workdir

    def start(self, trial: StoredTrial) -> TrialRun:
        """See :meth:`TrialLauncher.start`."""
        return ReplicaTrial(self.job, trial, self.workdir)
