"""``vertex-hydra dashboard``: open a ``local`` or ``results`` study in optuna-dashboard.

The study folder's ``study.db`` is an Optuna storage, so optuna-dashboard (the
``dashboard`` extra) serves it as it is: trials, parameters, values and the
learning curves (intermediate values). The server listens on 127.0.0.1 only.
This module is the API (no argparse, no printing); :mod:`vertex_hydra.dashboard._cli`
is the command.

Example:
    >>> server = open_dashboard("vertex-hydra-local/digits-hpt")  # doctest: +SKIP
    >>> server.url  # doctest: +SKIP
    'http://127.0.0.1:40123/dashboard'
    >>> server.serve_forever()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vertex_hydra.errors import ConfigurationError, MissingDependencyError

__all__ = ["HOST", "DashboardServer", "find_store", "open_dashboard"]

#: The dashboard is only ever served on the loopback interface.
HOST = "127.0.0.1"
_STORE_FILE = "study.db"  # vertex_hydra.local.store.STORE_FILE, without importing optuna


def find_store(workdir: str | Path) -> Path:
    """The ``study.db`` of a ``local`` or ``results`` study folder.

    Raises:
        ConfigurationError: ``workdir`` holds no ``study.db``.

    Example:
        >>> find_store("no/such/folder")
        Traceback (most recent call last):
        ...
        vertex_hydra.errors.ConfigurationError: DIR 'no/such/folder' holds no study (no study.db). Fix: pass the --workdir of a 'vertex-hydra local' or 'vertex-hydra results' run.
    """
    db = Path(workdir) / _STORE_FILE
    if not db.is_file():
        raise ConfigurationError(
            f"DIR {str(workdir)!r} holds no study (no {_STORE_FILE}). Fix: pass the --workdir "
            "of a 'vertex-hydra local' or 'vertex-hydra results' run."
        )
    return db


def _require_dashboard() -> None:
    missing = [m for m in ("optuna", "optuna_dashboard") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"'vertex-hydra dashboard' needs {' and '.join(missing)}, which is not installed. "
            'Fix: pip install "vertex-hydra[dashboard]"'
        )


@dataclass
class DashboardServer:
    """A running (bound, not yet serving) optuna-dashboard on the loopback interface.

    Args:
        store: The ``study.db`` served.
        port: The port it listens on.
        server: The :mod:`wsgiref` server.

    Example:
        >>> open_dashboard("runs/study", port=8080).url  # doctest: +SKIP
        'http://127.0.0.1:8080/dashboard'
    """

    store: Path
    port: int
    server: Any
    _stopping: bool = field(default=False, init=False, repr=False)

    @property
    def url(self) -> str:
        """Where a browser opens the dashboard."""
        return f"http://{HOST}:{self.port}/dashboard"

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        """Answer requests until :meth:`stop` (callable from a signal handler) or Ctrl-C.

        :meth:`stop` is the reliable way out: ``wsgiref`` answers an exception raised
        while it finishes a request, ``KeyboardInterrupt`` included, with an error
        page and goes on serving, so a Ctrl-C at that moment would be lost.
        """
        self.server.timeout = poll_interval
        while not self._stopping:
            self.server.handle_request()

    def stop(self) -> None:
        """Make :meth:`serve_forever` return within ``poll_interval`` seconds, or at once.

        Called before :meth:`serve_forever` starts (a signal just after the URL was
        printed), it still counts: the server does not serve then.

        Example:
            >>> server = open_dashboard("runs/study")  # doctest: +SKIP
            >>> server.stop()  # doctest: +SKIP
            >>> server.serve_forever()  # returns at once  # doctest: +SKIP
        """
        self._stopping = True

    def close(self) -> None:
        """Stop listening and free the port."""
        self.server.server_close()


def open_dashboard(workdir: str | Path, *, port: int = 0) -> DashboardServer:
    """Bind optuna-dashboard for the study in ``workdir`` to ``127.0.0.1:port``.

    Args:
        workdir: A ``local`` or ``results`` study folder (with ``study.db``).
        port: The port; 0 takes a free one.

    Raises:
        MissingDependencyError: optuna-dashboard is not installed.
        ConfigurationError: No ``study.db`` in ``workdir``, or the port is taken.

    Example:
        >>> open_dashboard("runs/study").port > 0  # doctest: +SKIP
        True
    """
    db = find_store(workdir)
    _require_dashboard()
    if not 0 <= port <= 65535:
        raise ConfigurationError(
            f"--port must be between 0 and 65535, got {port}. Fix: e.g. --port 8080, "
            "or leave it out to take a free port."
        )
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import optuna
    import optuna_dashboard  # type: ignore[import-untyped]

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """No access log: the command prints only the URL."""

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{db.resolve()}")
    app = optuna_dashboard.wsgi(storage)
    try:
        server = make_server(HOST, port, app, handler_class=_Quiet)
    except OSError as error:
        raise ConfigurationError(
            f"cannot listen on {HOST}:{port} (--port {port}): {error.strerror}. Fix: pass "
            "another --port, or leave it out to take a free port."
        ) from None
    return DashboardServer(db, int(server.server_port), server)
