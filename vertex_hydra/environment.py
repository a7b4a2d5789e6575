"""``VertexEnvironment``: Lightning multi-node DDP on a Vertex AI trial with several replicas.

A Vertex trial with ``workerPoolSpecs[1]`` runs one chief (``workerpool0``) and
N workers (``workerpool1``), each on its own machine, and tells each replica
where it sits through ``CLUSTER_SPEC``. Lightning's default
``LightningEnvironment`` reads ``NODE_RANK``/``GROUP_RANK``, which Vertex does
not set, so every replica believes it is node 0 and training hangs. Add one
line to the trainer config and each replica finds its node rank and the
chief's address:

.. code-block:: yaml

    # configs/trainer/ddp_multinode.yaml
    strategy: ddp
    num_nodes: 2          # = replicas in workerpool0 + workerpool1
    plugins:
      - _target_: vertex_hydra.VertexEnvironment

Where the layout comes from, in order (:func:`read_cluster`):

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
3. Otherwise, and on a single replica, everything is Lightning's default
   ``LightningEnvironment``.

Lightning's world size is ``num_nodes * devices`` and each process's global
rank is ``node_rank * devices + local_rank``: the strategy computes both from
:meth:`VertexEnvironment.node_rank` and the ``LOCAL_RANK`` its launcher sets.

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
from typing import TYPE_CHECKING, Any

from vertex_hydra._compat import cluster_environment_base, lightning_environment
from vertex_hydra.errors import ConfigurationError

__all__ = ["VertexCluster", "VertexEnvironment", "read_cluster"]

if TYPE_CHECKING:
    # What the runtime base is, spelled statically, so that type checkers accept
    # the plugin in either namespace's ``Trainer(plugins=[...])``.
    import lightning.fabric.plugins.environments.cluster_environment as _fabric
    import lightning_fabric.plugins.environments.cluster_environment as _lightning_fabric

    class _EnvironmentBase(  # type: ignore[misc]
        _fabric.ClusterEnvironment, _lightning_fabric.ClusterEnvironment
    ):
        pass

else:
    _EnvironmentBase = cluster_environment_base()

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


class VertexEnvironment(_EnvironmentBase):
    """Lightning ``ClusterEnvironment`` for a Vertex AI trial that spans several replicas.

    Takes no arguments. The chief (``workerpool0``) is node 0 and worker ``i``
    (``workerpool1``) is node ``i + 1``; every process connects to the chief's
    ``host:port``. Lightning's own launcher still starts the ``devices``
    processes of each node (``creates_processes_externally`` is ``False`` until
    it has set ``LOCAL_RANK``), so world size is ``num_nodes * devices`` and
    global ranks are unique. On a single replica, and wherever no layout is
    found (see :func:`read_cluster`), it behaves exactly as Lightning's default
    ``LightningEnvironment``, to which it then delegates.

    The layout is read once, when the environment is made. It is checked
    against the trainer in :meth:`validate_settings`, which Lightning's
    ``ddp``/``fsdp`` launchers call before they start any process.

    Raises:
        ConfigurationError: ``CLUSTER_SPEC``/``TF_CONFIG`` is malformed (here),
            or ``trainer.num_nodes`` differs from the replicas (at ``fit``).

    Example:
        >>> VertexEnvironment().node_rank()  # a single machine: Lightning's default
        0

        In the trainer config, or in Python (either namespace):

        .. code-block:: yaml

            plugins: [{_target_: vertex_hydra.VertexEnvironment}]

        >>> from lightning.pytorch import Trainer
        >>> trainer = Trainer(num_nodes=2, plugins=[VertexEnvironment()])  # doctest: +SKIP
    """

    def __init__(self) -> None:
        super().__init__()
        self.cluster = read_cluster()
        # Lightning's default, used for everything a cluster layout does not decide.
        self._default = lightning_environment()
        cluster = self.cluster
        joins = cluster is not None and cluster.nodes > 1 and cluster.node_rank is not None
        self._cluster = cluster if joins else None

    def __repr__(self) -> str:
        if self._cluster is None:
            return f"{type(self).__name__}(single node: Lightning's default)"
        c = self._cluster
        return (
            f"{type(self).__name__}(node {c.node_rank} of {c.nodes}, {c.task}, "
            f"main {c.main_address}:{c.main_port}, from {c.source})"
        )

    @property
    def creates_processes_externally(self) -> bool:
        """``False`` until a launcher has set ``LOCAL_RANK``, as for ``LightningEnvironment``.

        Example:
            >>> VertexEnvironment().creates_processes_externally  # doctest: +SKIP
            False
        """
        return bool(self._default.creates_processes_externally)

    @property
    def main_address(self) -> str:
        """The chief's host on a cluster, else ``MASTER_ADDR`` or ``127.0.0.1``.

        Example:
            >>> VertexEnvironment().main_address  # doctest: +SKIP
            '127.0.0.1'
        """
        if self._cluster is not None:
            return self._cluster.main_address
        return str(self._default.main_address)

    @property
    def main_port(self) -> int:
        """The chief's port on a cluster, else ``MASTER_PORT`` or a free port.

        Example:
            >>> VertexEnvironment().main_port > 0  # doctest: +SKIP
            True
        """
        if self._cluster is not None:
            return self._cluster.main_port
        return int(self._default.main_port)

    @staticmethod
    def detect() -> bool:
        """Tell whether this process runs on a Vertex cluster of more than one replica.

        Lightning does not auto-detect this environment; pass it as a plugin.

        Example:
            >>> VertexEnvironment.detect()  # doctest: +SKIP
            False
        """
        try:
            cluster = read_cluster()
        except ConfigurationError:
            return False
        return cluster is not None and cluster.nodes > 1

    def world_size(self) -> int:
        """The number of processes, ``num_nodes * devices``, as the strategy set it.

        Example:
            >>> VertexEnvironment().world_size()
            1
        """
        return int(self._default.world_size())

    def set_world_size(self, size: int) -> None:
        """Record the world size the strategy computed.

        Example:
            >>> env = VertexEnvironment()
            >>> env.set_world_size(4)
            >>> env.world_size()
            4
        """
        self._default.set_world_size(size)

    def global_rank(self) -> int:
        """This process's rank across all nodes, ``node_rank * devices + local_rank``.

        Example:
            >>> VertexEnvironment().global_rank()
            0
        """
        return int(self._default.global_rank())

    def set_global_rank(self, rank: int) -> None:
        """Record the global rank the strategy computed.

        Example:
            >>> env = VertexEnvironment()
            >>> env.set_global_rank(0)
            >>> env.global_rank()
            0
        """
        self._default.set_global_rank(rank)

    def local_rank(self) -> int:
        """This process's rank on its node: ``LOCAL_RANK``, set by Lightning's launcher.

        Example:
            >>> VertexEnvironment().local_rank()  # doctest: +SKIP
            0
        """
        return int(self._default.local_rank())

    def node_rank(self) -> int:
        """0 for the chief, ``i + 1`` for worker ``i``; Lightning's default on a single node.

        Example:
            >>> VertexEnvironment().node_rank()  # doctest: +SKIP
            0
        """
        if self._cluster is not None:
            return int(self._cluster.node_rank or 0)
        return int(self._default.node_rank())

    def validate_settings(self, num_devices: int, num_nodes: int) -> None:
        """Raise when ``trainer.num_nodes`` differs from the trial's replicas in pools 0 and 1.

        Lightning's subprocess launcher (``strategy="ddp"``, ``"fsdp"``, ...) calls
        this before it starts any process. A single-device run (``num_nodes=1``,
        ``devices=1``, ``strategy="auto"``) never consults its cluster environment.

        Args:
            num_devices: ``trainer.devices``, the processes per node.
            num_nodes: ``trainer.num_nodes``.

        Raises:
            ConfigurationError: The numbers differ.

        Example:
            >>> VertexEnvironment().validate_settings(num_devices=1, num_nodes=1)
        """
        cluster = self.cluster
        if cluster is None:
            return
        if cluster.node_rank is None:
            if num_nodes != 1:
                raise ConfigurationError(
                    f"VertexEnvironment: trainer.num_nodes={num_nodes}, but this replica is "
                    f"{cluster.task}, outside workerpool0 and workerpool1, so it cannot join "
                    "the trial's training world. Fix: give that pool its own args with "
                    "trainer.num_nodes=1, or run no Trainer there."
                )
            return
        if num_nodes != cluster.nodes:
            workers = (
                f"workerPoolSpecs[1] replicaCount {num_nodes - 1}"
                if num_nodes > 1
                else "no workerPoolSpecs[1]"
            )
            raise ConfigurationError(
                f"VertexEnvironment: trainer.num_nodes={num_nodes}, but this trial has "
                f"{cluster.nodes} replica(s) in workerpool0 and workerpool1 (from "
                f"{cluster.source}). Fix: set trainer.num_nodes={cluster.nodes}, or give the "
                f"job {workers}."
            )

    def teardown(self) -> None:
        """Clean up as ``LightningEnvironment`` does (it removes ``WORLD_SIZE``).

        Example:
            >>> VertexEnvironment().teardown()  # doctest: +SKIP
        """
        self._default.teardown()
