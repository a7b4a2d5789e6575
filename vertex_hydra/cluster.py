"""Where a replica sits in a Vertex AI trial of several replicas, read from its environment.

Vertex AI tells each replica of a trial its place through ``CLUSTER_SPEC``:
the chief is the one replica of ``workerpool0``, the workers are
``workerpool1``, and pools 2 and 3 hold a Reduction Server or evaluators.
:func:`read_cluster` turns that into a :class:`VertexCluster` (nodes, this
replica's node rank, the chief's address), which
:class:`~vertex_hydra.VertexEnvironment` hands to Lightning.

Where the layout comes from, in order:

1. ``CLUSTER_SPEC`` (always set by Vertex), else ``TF_CONFIG`` (same shape, with
   TensorFlow's pool names ``chief``/``master`` and ``worker``). The chief is node
   0, worker ``i`` is node ``i + 1``; the main address and port are the chief's
   ``host:port`` (``MASTER_PORT`` when the entry has no port). Vertex's
   ``WORLD_SIZE``/``RANK`` are not read here: Lightning's launcher overwrites
   ``WORLD_SIZE`` with the process count in the processes it starts, and
   ``torchrun`` sets ``RANK`` to a process rank, whereas ``CLUSTER_SPEC`` means
   the same in every process.
2. Without either, the PyTorch variables ``MASTER_ADDR``, ``MASTER_PORT``,
   ``WORLD_SIZE`` (nodes) and ``RANK`` (node rank), as Vertex and Kubeflow set
   them, when ``WORLD_SIZE`` > 1 and no launcher has set ``LOCAL_RANK``,
   ``NODE_RANK`` or ``GROUP_RANK`` yet.
3. Otherwise there is no cluster (``None``).

This module imports neither torch nor lightning.

Example:
    >>> spec = '{"cluster": {"workerpool0": ["chief:2222"], "workerpool1": ["w0:2222"]}, '
    >>> spec += '"task": {"type": "workerpool1", "index": 0, "trial": "3"}}'
    >>> read_cluster({"CLUSTER_SPEC": spec})
    VertexCluster(nodes=2, node_rank=1, task='workerpool1[0]', main_address='chief', main_port=2222, source='CLUSTER_SPEC')
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vertex_hydra.errors import ConfigurationError

__all__ = ["VertexCluster", "cluster_spec", "read_cluster"]

# Pool names: Vertex's in CLUSTER_SPEC, TensorFlow's (and legacy AI Platform's) in TF_CONFIG.
_CHIEF_POOLS = ("workerpool0", "chief", "master")
_WORKER_POOLS = ("workerpool1", "worker")
_SOURCES = ("CLUSTER_SPEC", "TF_CONFIG")
_LAUNCHED = ("LOCAL_RANK", "NODE_RANK", "GROUP_RANK")
_EXAMPLE = (
    '{"cluster": {"workerpool0": ["host:2222"], "workerpool1": ["host1:2222"]}, '
    '"task": {"type": "workerpool1", "index": 0}}'
)


@dataclass(frozen=True)
class VertexCluster:
    """Where this replica sits in a trial's cluster of replicas.

    Attributes:
        nodes: Replicas in ``workerpool0`` and ``workerpool1``: the nodes of the training world.
        node_rank: 0 for the chief, ``i + 1`` for worker ``i``; ``None`` for a
            replica of another pool (reduction server, evaluator), which trains alone.
        task: This replica as ``type[index]``, e.g. ``"workerpool1[0]"``.
        main_address: The chief's host.
        main_port: The chief's port (0 when unknown on a single replica).
        source: The variable the layout was read from, e.g. ``"CLUSTER_SPEC"``.

    Example:
        >>> VertexCluster(2, 0, "workerpool0[0]", "chief", 2222, "CLUSTER_SPEC").nodes
        2
    """

    nodes: int
    node_rank: int | None
    task: str
    main_address: str
    main_port: int
    source: str


def _fail(name: str, text: str, problem: str) -> ConfigurationError:
    shown = text if len(text) <= 120 else text[:117] + "..."
    return ConfigurationError(
        f"{name}={shown!r}: {problem}. Fix: unset {name}, or give it Vertex AI's layout, "
        f"e.g. {_EXAMPLE}."
    )


def _hosts(name: str, text: str, cluster: Mapping[str, Any], pools: tuple[str, ...]) -> list[str]:
    for pool in pools:
        if pool in cluster:
            hosts = cluster[pool]
            if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                raise _fail(name, text, f'"cluster.{pool}" must be a list of "host:port" strings')
            return hosts
    return []


def _address(name: str, text: str, entry: str, environ: Mapping[str, str]) -> tuple[str, int]:
    host, colon, port = entry.rpartition(":")
    if not colon:
        host, port = entry, environ.get("MASTER_PORT", "")
    if not host or not port.isdigit():
        raise _fail(name, text, f"the chief's entry {entry!r} is not 'host:port'")
    return host, int(port)


def _from_cluster_json(name: str, text: str, environ: Mapping[str, str]) -> VertexCluster:
    try:
        spec = json.loads(text)
    except ValueError as error:
        raise _fail(name, text, f"not valid JSON ({error})") from None
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict):
        raise _fail(name, text, 'expected a JSON object with a "cluster" mapping')
    chief = _hosts(name, text, cluster, _CHIEF_POOLS)
    workers = _hosts(name, text, cluster, _WORKER_POOLS)
    if len(chief) != 1:
        raise _fail(name, text, f"workerpool0 (the chief) lists {len(chief)} replicas, not 1")
    nodes = 1 + len(workers)
    task = spec.get("task")
    if task is None and nodes == 1:
        task = {"type": _CHIEF_POOLS[0], "index": 0}
    try:
        kind, index = str(task["type"]), int(task.get("index", 0))
    except (TypeError, KeyError, ValueError, AttributeError):
        raise _fail(name, text, 'expected "task": {"type": ..., "index": ...}') from None
    if kind in _CHIEF_POOLS and index == 0:
        node_rank: int | None = 0
    elif kind in _WORKER_POOLS and 0 <= index < len(workers):
        node_rank = index + 1
    elif kind in _CHIEF_POOLS + _WORKER_POOLS:
        raise _fail(name, text, f"task {kind}[{index}] is not in its pool's list")
    else:
        node_rank = None
    if nodes == 1:
        host, _, port = chief[0].rpartition(":")
        address = (host or chief[0], int(port) if port.isdigit() else 0)
    else:
        address = _address(name, text, chief[0], environ)
    return VertexCluster(nodes, node_rank, f"{kind}[{index}]", *address, name)


def _from_pytorch_variables(environ: Mapping[str, str]) -> VertexCluster | None:
    names = ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT")
    values = [environ.get(name, "").strip() for name in names]
    if not all(values[:3]) or any(environ.get(name) for name in _LAUNCHED):
        return None
    shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, values))
    single = values[0].isdigit() and int(values[0]) <= 1
    if not single and not all(value.isdigit() for value in (values[0], values[1], values[3])):
        raise ConfigurationError(
            f"VertexEnvironment: {shown}: expected whole numbers for WORLD_SIZE (nodes), "
            "RANK (node rank) and MASTER_PORT. Fix: set them as Vertex AI does, e.g. "
            "WORLD_SIZE=2 RANK=1 MASTER_PORT=2222, or unset them on a single machine."
        )
    if single:
        return None
    nodes, rank = int(values[0]), int(values[1])
    if rank >= nodes:
        raise ConfigurationError(
            f"VertexEnvironment: {shown}: the node rank must be below the number of nodes. "
            f"Fix: set RANK to one of 0..{nodes - 1}."
        )
    return VertexCluster(nodes, rank, f"RANK={rank}", values[2], int(values[3]), "WORLD_SIZE")


def read_cluster(environ: Mapping[str, str] | None = None) -> VertexCluster | None:
    """Read this replica's place in its trial's cluster from the environment Vertex AI sets.

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        The layout from ``CLUSTER_SPEC``, else ``TF_CONFIG``, else the PyTorch
        variables (``WORLD_SIZE`` > 1 and ``RANK``, as node count and node rank),
        or ``None`` when none of them describes a cluster.

    Raises:
        ConfigurationError: The variable is not valid JSON, or not a layout of
            exactly one chief and its workers, or the PyTorch variables are not numbers.

    Example:
        >>> spec = '{"cluster": {"workerpool0": ["c:2222"], "workerpool1": ["a:2222", "b:2222"]},'
        >>> read_cluster({"CLUSTER_SPEC": spec + '"task": {"type": "workerpool1", "index": 1}}'})
        VertexCluster(nodes=3, node_rank=2, task='workerpool1[1]', main_address='c', main_port=2222, source='CLUSTER_SPEC')
        >>> read_cluster({}) is None
        True
    """
    env = os.environ if environ is None else environ
    for name in _SOURCES:
        text = env.get(name, "").strip()
        if text:
            return _from_cluster_json(name, text, env)
    return _from_pytorch_variables(env)


def cluster_spec(hosts: list[str], node_rank: int, trial: str) -> str:
    """The ``CLUSTER_SPEC`` Vertex AI gives one replica of pools 0 and 1 of a trial.

    Args:
        hosts: Every node's ``host:port``: the chief first, then each worker.
        node_rank: This replica's node: 0 is the chief (``workerpool0``), ``i + 1``
            is worker ``i`` (``workerpool1``).
        trial: The trial's id.

    Example:
        >>> text = cluster_spec(["127.0.0.1:2222", "127.0.0.1:2223"], 1, "3")
        >>> text
        '{"cluster": {"workerpool0": ["127.0.0.1:2222"], "workerpool1": ["127.0.0.1:2223"]}, "environment": "cloud", "task": {"type": "workerpool1", "index": 0, "trial": "3"}}'
        >>> read_cluster({"CLUSTER_SPEC": text}).node_rank
        1
    """
    cluster = {_CHIEF_POOLS[0]: hosts[:1]}
    if len(hosts) > 1:
        cluster[_WORKER_POOLS[0]] = hosts[1:]
    kind, index = (_CHIEF_POOLS[0], 0) if node_rank == 0 else (_WORKER_POOLS[0], node_rank - 1)
    task = {"type": kind, "index": index, "trial": trial}
    return json.dumps({"cluster": cluster, "environment": "cloud", "task": task})
