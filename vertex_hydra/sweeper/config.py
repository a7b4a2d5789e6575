"""The structured config of ``hydra/sweeper: vertex`` (light: dataclasses only).

Example:
    >>> conf = VertexSweeperConf(metric="val/acc", direction="maximize")
    >>> conf.n_trials, conf.n_jobs, conf.vertex.machine_type
    (20, 2, 'n1-standard-4')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = ["VertexBlock", "VertexSweeperConf", "TARGET"]

#: The sweeper class Hydra instantiates.
TARGET = "hydra_plugins.vertex_hydra_sweeper.vertex_sweeper.VertexSweeper"


@dataclass
class VertexBlock:
    """``hydra.sweeper.vertex``: how Vertex AI runs each trial (backends ``export`` and ``vertex``).

    Example:
        >>> VertexBlock(image_uri="img").replica_count
        1
    """

    image_uri: Optional[str] = None
    machine_type: str = "n1-standard-4"
    accelerator_type: Optional[str] = None
    accelerator_count: int = 0
    replica_count: int = 1
    command: Optional[List[str]] = None
    base_output_directory: Optional[str] = None
    service_account: Optional[str] = None
    project: Optional[str] = None
    region: Optional[str] = None
    api_endpoint: Optional[str] = None
    check: bool = True
    dry_run: bool = False
    wait: bool = False
    poll_interval: float = 30.0


@dataclass
class VertexSweeperConf:
    """``hydra.sweeper``: every key, with the Vertex field it becomes (see ``docs/sweeper.md``).

    ``sampler``, ``storage``, ``max_failure_rate``, ``custom_search_space`` and
    ``search_space`` (hydra-optuna-sweeper's) exist only to be refused with a clear
    message; a key that is not a field at all (added with ``+``) is refused too.
    ``_recursive_`` is off so that a left-over ``sampler: {_target_: ...}`` is not
    instantiated (which would import optuna) before it can be refused.

    Example:
        >>> VertexSweeperConf().direction
        'minimize'
    """

    _target_: str = TARGET
    _recursive_: bool = False
    direction: Any = "minimize"
    metric: Any = None
    n_trials: int = 20
    n_jobs: int = 2
    max_failed_trials: int = 0
    algorithm: Optional[str] = None
    measurement_selection: Optional[str] = None
    stopping: Optional[Dict[str, Any]] = None
    study_name: Optional[str] = None
    backend: str = "local"
    seed: Optional[int] = None
    params: Optional[Dict[str, Any]] = None
    conditional: Optional[Dict[str, Any]] = None
    sampler: Any = None
    storage: Any = None
    max_failure_rate: Any = None
    custom_search_space: Any = None
    search_space: Any = None
    vertex: VertexBlock = field(default_factory=VertexBlock)
