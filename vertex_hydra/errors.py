"""The errors ``vertex_hydra`` raises.

Every error derives from :class:`VertexHydraError` *and* from the builtin that
describes it best, so ``except ValueError`` keeps working for callers that do
not know this library. Messages say what was wrong, what was received and how to
fix it.

Example:
    >>> from vertex_hydra import to_hydra_args, TranslationError
    >>> try:
    ...     to_hydra_args(["--=5"])
    ... except TranslationError as err:
    ...     print(err.token)
    --=5
"""

from __future__ import annotations

__all__ = [
    "VertexHydraError",
    "TranslationError",
    "ConfigurationError",
    "CloudError",
    "MissingDependencyError",
]


class VertexHydraError(Exception):
    """Base class of every error raised by ``vertex_hydra``.

    Example:
        >>> issubclass(TranslationError, VertexHydraError)
        True
    """


class TranslationError(VertexHydraError, ValueError):
    """A command-line token cannot be turned into a Hydra override.

    Args:
        message: What was wrong and how to fix it.
        token: The offending command-line token, exactly as received.
        index: Its position in the argument list (0 = first argument after the program).

    Example:
        >>> err = TranslationError("bad", token="--", index=3)
        >>> (err.token, err.index)
        ('--', 3)
    """

    def __init__(self, message: str, *, token: str, index: int) -> None:
        super().__init__(message)
        self.token = token
        self.index = index


class ConfigurationError(VertexHydraError, ValueError):
    """An option or input given to ``vertex_hydra`` is invalid (for example a job file).

    Example:
        >>> isinstance(ConfigurationError("x"), ValueError)
        True
    """


class CloudError(VertexHydraError, RuntimeError):
    """A call to Vertex AI failed: credentials, project, permission, quota or network.

    The message is one sentence saying what happened and how to fix it; the
    original Google error is chained as ``__cause__``.

    Example:
        >>> isinstance(CloudError("x"), RuntimeError)
        True
    """


class MissingDependencyError(VertexHydraError, ImportError):
    """An optional dependency (an extra such as ``vertex-hydra[local]``) is not installed.

    Example:
        >>> isinstance(MissingDependencyError("pip install 'vertex-hydra[local]'"), ImportError)
        True
    """
