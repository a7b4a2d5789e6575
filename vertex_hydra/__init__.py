"""Run Hydra training code as Google Vertex AI hyperparameter-tuning trials, unchanged.

Example:
    >>> from vertex_hydra import to_hydra_args
    >>> to_hydra_args(["--model.lr=0.01", "--data.batch_size=64.0"])
    ['model.lr=0.01', 'data.batch_size=64']
"""

from typing import TYPE_CHECKING

from vertex_hydra._lazy import lazy_names
from vertex_hydra._version import __version__
from vertex_hydra.decorator import vertex_compatible
from vertex_hydra.errors import ConfigurationError, TranslationError, VertexHydraError
from vertex_hydra.resolvers import register_when_imported as _register_resolvers
from vertex_hydra.translate import to_hydra_args

# ``${vertex_hydra.last_checkpoint:}`` in a config resolves from the first import on
# (registered now if OmegaConf is loaded, else as its own import ends).
_register_resolvers()

__all__ = [
    "__version__",
    "vertex_compatible",
    "to_hydra_args",
    "VertexHydraError",
    "TranslationError",
    "ConfigurationError",
    "HypertuneCallback",
    "report_metric",
    "VertexEnvironment",
]

if TYPE_CHECKING:  # the real types for type checkers; at run time they load lazily
    from vertex_hydra.callback import HypertuneCallback
    from vertex_hydra.environment import VertexEnvironment
    from vertex_hydra.report import report_metric

# Names whose modules import heavy or optional packages load on first access,
# so that ``import vertex_hydra`` never imports torch, lightning, optuna or google.
_LAZY = {
    "HypertuneCallback": "vertex_hydra.callback",
    "report_metric": "vertex_hydra.report",
    "VertexEnvironment": "vertex_hydra.environment",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
