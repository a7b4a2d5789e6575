"""``VertexEnvironment``: Lightning multi-node DDP on a Vertex AI trial with several replicas.

A Vertex trial with ``workerPoolSpecs[1]`` runs one chief (``workerpool0``) and
N workers (``workerpool1``), each on its own machine, and tells each replica
where it sits through ``CLUSTER_SPEC``. Lightning's default
``LightningEnvironment`` reads ``NODE_RANK``/``GROUP_RANK``, which Vertex does
not set, so every replica believes it is node 0 and training hangs. Add one
line to the trainer config and each replica finds its node rank and the
chief's address (read by :func:`vertex_hydra.cluster.read_cluster`):

.. code-block:: yaml

    # configs/trainer/ddp_multinode.yaml
    strategy: ddp
    num_nodes: 2          # = replicas in workerpool0 + workerpool1
    plugins:
      - _target_: vertex_hydra.VertexEnvironment

Lightning's world size is ``num_nodes * devices`` and each process's global
rank is ``node_rank * devices + local_rank``: the strategy computes both from
:meth:`VertexEnvironment.node_rank` and the ``LOCAL_RANK`` its launcher sets.
On a single replica, or with no layout, everything is Lightning's default.

Example:
    >>> VertexEnvironment().node_rank()  # a single machine: Lightning's default
    0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vertex_hydra._compat import cluster_environment_base, lightning_environment
from vertex_hydra.cluster import read_cluster
from vertex_hydra.errors import ConfigurationError

__all__ = ["VertexEnvironment"]

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


class VertexEnvironment(_EnvironmentBase):
    """Lightning ``ClusterEnvironment`` for a Vertex AI trial that spans several replicas.

    Takes no arguments. The chief (``workerpool0``) is node 0 and worker ``i``
    (``workerpool1``) is node ``i + 1``; every process connects to the chief's
    ``host:port``. Lightning's own launcher still starts the ``devices``
    processes of each node (``creates_processes_externally`` is ``False`` until
    it has set ``LOCAL_RANK``), so world size is ``num_nodes * devices`` and
    global ranks are unique. On a single replica, and wherever no layout is
    found (see :func:`~vertex_hydra.cluster.read_cluster`), it behaves exactly
    as Lightning's default ``LightningEnvironment``, to which it then delegates.

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
