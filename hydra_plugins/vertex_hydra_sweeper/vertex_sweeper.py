"""``hydra/sweeper: vertex``: the plugin class Hydra discovers.

Importing this module (as Hydra's plugin discovery does) registers the config
and imports nothing heavy: the engine, optuna and aiplatform load in
:meth:`VertexSweeper.sweep`.
"""

from __future__ import annotations

from typing import Any, List

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from vertex_hydra.sweeper.config import VertexSweeperConf

ConfigStore.instance().store(
    group="hydra/sweeper", name="vertex", node=VertexSweeperConf, provider="vertex_hydra"
)


class VertexSweeper(Sweeper):
    """Runs ``hydra.sweeper.params`` as a Vertex AI tuning study (locally, exported or on Vertex)."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.config: DictConfig | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Keep the composed config; nothing is checked or loaded yet."""
        self.hydra_context, self.task_function, self.config = hydra_context, task_function, config

    def sweep(self, arguments: List[str]) -> Any:
        """Check the options, build the job and hand it to the backend."""
        from vertex_hydra.sweeper._impl import run_sweep

        assert self.config is not None
        return run_sweep(self.options, self.config, list(arguments))
