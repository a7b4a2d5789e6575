"""The Hydra sweeper ``hydra/sweeper: vertex``: a search space in Hydra config, run as a study.

The plugin class Hydra discovers lives in
``hydra_plugins/vertex_hydra_sweeper/vertex_sweeper.py`` and only imports this
package's :mod:`~vertex_hydra.sweeper.config` at discovery; the search-space
translation (:mod:`~vertex_hydra.sweeper.params`), the job builder
(:mod:`~vertex_hydra.sweeper.job`) and the backends load when a sweep runs.
See ``docs/sweeper.md``.

Example:
    >>> from vertex_hydra.sweeper.config import VertexSweeperConf
    >>> VertexSweeperConf().backend
    'local'
"""

__all__: list[str] = []
