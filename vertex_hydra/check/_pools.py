"""The worker pools half of ``vertex-hydra check``: replica counts, the worker's config, num_nodes.

A trial of several replicas runs ``workerPoolSpecs[0]`` (the chief, one
replica) and ``workerPoolSpecs[1]`` (the workers) together. ``check`` validates
both pools, composes one worker's config with the ``CLUSTER_SPEC`` Vertex gives
it, and compares a Lightning ``trainer.num_nodes`` in the chief's config with
the replicas of pools 0 and 1. Pools 2 and 3 are named as not rehearsed
(:mod:`vertex_hydra.jobspec._rehearsal`).

Example:
    >>> num_nodes_problem({"trainer": {"num_nodes": 1}}, (1, 1)).subject
    'trainer.num_nodes'
    >>> num_nodes_problem({"trainer": {"max_epochs": 2}}, (1, 1)) is None
    True
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vertex_hydra.check._model import PoolRow, Problem
from vertex_hydra.check._probe import CFG_FLAGS, command_text, essential_error, run_replica
from vertex_hydra.jobspec import JobSpec

__all__ = ["pool_problems", "compose_worker", "compose_roles", "num_nodes_problem", "pool_rows"]


def _pool(index: int) -> str:
    return f"trialJobSpec.workerPoolSpecs[{index}]"


def pool_problems(job: JobSpec, python: str | None = None) -> list[Problem]:
    """The problems of the pools (pool 0's ``replicaCount``, pool 1's command).

    Example:
        >>> pool_problems(load_job("examples/digits/job-multinode.yaml"))  # doctest: +SKIP
        []
    """
    from vertex_hydra.errors import ConfigurationError

    counts = job.replica_counts
    problems: list[Problem] = []
    if counts and counts[0] != 1:
        raw = job.raw["trialJobSpec"]["workerPoolSpecs"][0].get("replicaCount")
        rest = (
            f" and put the other {counts[0] - 1} replica(s) in workerPoolSpecs[1] (the workers)"
            if counts[0] > 1 else ""
        )  # fmt: skip
        problems.append(Problem(_pool(0), (
            f"{_pool(0)}.replicaCount is {raw!r}, but pool 0 holds the trial's one chief. "
            f"Fix: set replicaCount: 1 in pool 0{rest}."
        )))  # fmt: skip
    if len(counts) > 1 and counts[1] > 0:
        try:
            job.pool_command(1, python)
        except ConfigurationError as error:
            problems.append(Problem(_pool(1), str(error)))
    return problems


def compose_worker(
    job: JobSpec, *, python: str | None = None, timeout: float = 60.0
) -> tuple[dict[str, Any] | None, Problem | None]:
    """Compose worker 0's baseline config (pool 1's command, no parameter) as Vertex starts it.

    The replica gets the environment Vertex gives worker 0 (``CLUSTER_SPEC`` of
    type ``workerpool1``, ``RANK`` 1, the chief's ``MASTER_ADDR``/``MASTER_PORT``).

    Returns:
        The worker's config (``None`` if it failed) and the problem, if any.

    Example:
        >>> config, problem = compose_worker(load_job("job-multinode.yaml"))  # doctest: +SKIP
        >>> problem is None  # doctest: +SKIP
        True
    """
    from vertex_hydra.local.replicas import replica_environment

    nodes = 1 + job.replica_counts[1]
    hosts = [f"127.0.0.1:{2222 + node}" for node in range(nodes)]
    argv = [*job.pool_argv(1, {}, python), *CFG_FLAGS]
    with tempfile.TemporaryDirectory(prefix="vertex-hydra-check-worker-") as tmp:
        env = replica_environment(
            job, "check", hosts=hosts, node_rank=1, folder=Path(tmp), job_id="check"
        )
        comp = run_replica(job, argv, env, timeout=timeout)
    if comp.ok:
        return comp.config, None
    why = (
        f"took over {timeout:g} s" if comp.returncode is None
        else f"fails (exit {comp.returncode}): {essential_error(comp.stderr)}"
    )  # fmt: skip
    return None, Problem(_pool(1), (
        f"a worker's config does not compose: {command_text(comp.argv)} (workerpool1 replica 0, "
        f"with its CLUSTER_SPEC) {why}. Fix: make {_pool(1)}'s containerSpec.command/args "
        "(or pythonPackageSpec) start the same app as pool 0's, e.g. the same command and args."
    ))  # fmt: skip


def num_nodes_problem(config: Mapping[str, Any] | None, counts: tuple[int, ...]) -> Problem | None:
    """A Lightning ``trainer.num_nodes`` that differs from the replicas of pools 0 and 1.

    Says nothing when the config has no ``trainer.num_nodes`` or holds no number
    there (an interpolation ``check`` does not resolve).

    Example:
        >>> print(num_nodes_problem({"trainer": {"num_nodes": 1}}, (1, 1)).message)
        ... # doctest: +NORMALIZE_WHITESPACE
        the chief's config has trainer.num_nodes=1, but the trial runs 2 replicas (1 in
        workerPoolSpecs[0] + 1 in workerPoolSpecs[1]), so DDP waits for nodes that never
        come, or leaves replicas out. Fix: set trainer.num_nodes=2 (e.g. in pool 0's and
        pool 1's args), or change workerPoolSpecs[1].replicaCount to 0.
    """
    trainer = (config or {}).get("trainer")
    value = trainer.get("num_nodes") if isinstance(trainer, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    chief = counts[0] if counts else 1
    workers = counts[1] if len(counts) > 1 else 0
    if value == chief + workers:
        return None
    return Problem("trainer.num_nodes", (
        f"the chief's config has trainer.num_nodes={value}, but the trial runs {chief + workers} "
        f"replicas ({chief} in workerPoolSpecs[0] + {workers} in workerPoolSpecs[1]), so DDP "
        f"waits for nodes that never come, or leaves replicas out. Fix: set "
        f"trainer.num_nodes={chief + workers} (e.g. in pool 0's and pool 1's args), or change "
        f"workerPoolSpecs[1].replicaCount to {max(value - chief, 0)}."
    ))  # fmt: skip


def compose_roles(
    job: JobSpec,
    chief: Mapping[str, Any] | None,
    *,
    python: str | None = None,
    timeout: float = 60.0,
) -> tuple[list[Problem], tuple[PoolRow, ...], int]:
    """After the chief's compositions: compose a worker, compare ``trainer.num_nodes``.

    Args:
        job: The job file.
        chief: The chief's baseline config (``None`` when it did not compose).
        python: Interpreter replacing a leading ``python``.
        timeout: Seconds allowed to the worker's composition.

    Returns:
        The problems, one :class:`PoolRow` per pool, and the runs made (0 or 1).

    Example:
        >>> compose_roles(job, {"trainer": {"num_nodes": 2}})[0]  # doctest: +SKIP
        []
    """
    from vertex_hydra.errors import ConfigurationError

    counts = job.replica_counts
    problems: list[Problem] = []
    worker: bool | None = None
    if len(counts) > 1 and counts[1] > 0:
        try:
            job.pool_command(1, python)
        except ConfigurationError:
            pass  # pool_problems reported it
        else:
            _, problem = compose_worker(job, python=python, timeout=timeout)
            worker = problem is None
            problems += [problem] if problem is not None else []
    nodes = num_nodes_problem(chief, counts)
    problems += [nodes] if nodes is not None else []
    return problems, pool_rows(counts, chief is not None, worker), int(worker is not None)


def pool_rows(counts: tuple[int, ...], chief: bool, worker: bool | None) -> tuple[PoolRow, ...]:
    """One row per pool: whether the chief and the worker composed; pools 2 and 3 are not tried.

    Example:
        >>> [str(row) for row in pool_rows((1, 2), True, True)]
        ['workerpool0 x1', 'workerpool1 x2']
    """
    tried = {0: chief, 1: worker}
    return tuple(PoolRow(i, n, tried.get(i)) for i, n in enumerate(counts))
