"""Guards around a local study: one runner per workdir, and signals turned into a callback.

Example:
    >>> import tempfile, pathlib
    >>> with workdir_lock(pathlib.Path(tempfile.mkdtemp())):
    ...     pass
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vertex_hydra.errors import ConfigurationError

__all__ = ["signals_to", "workdir_lock"]


@contextmanager
def workdir_lock(workdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<workdir>/.lock`` (released even if the runner is killed).

    The file is removed when the lock is released, so a refused or finished
    command leaves no ``.lock`` behind (a killed runner leaves it, unlocked).

    Raises:
        ConfigurationError: Another runner holds the lock.

    Example:
        >>> with workdir_lock(Path("runs/a")):  # doctest: +SKIP
        ...     pass
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, as documented
        yield
        return
    path = workdir / ".lock"
    while True:
        handle = open(path, "a+")  # noqa: SIM115 - closed below, after the unlink
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ConfigurationError(
                f"another 'vertex-hydra local' (pid {holder}) is running the study in {workdir}. "
                "Fix: wait for it or stop it, or pass another --workdir."
            ) from None
        # The holder before us may have removed the file between our open and our lock.
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        # Removed while still locked, so that no runner locks a file about to vanish.
        path.unlink(missing_ok=True)
        handle.close()


@contextmanager
def signals_to(callback: Callable[[int], None]) -> Iterator[None]:
    """Call ``callback(signum)`` on SIGINT and SIGTERM instead of raising, then restore.

    The handler only records the request: the runner acts on it between two
    store operations, which keeps the SQLite store consistent. Outside the main
    thread (where Python cannot install handlers) this does nothing.

    Example:
        >>> got = []
        >>> with signals_to(got.append):
        ...     os.kill(os.getpid(), signal.SIGTERM)
        >>> got == [signal.SIGTERM]
        True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGINT, signal.SIGTERM]
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        callback(signum)

    for sig in wanted:
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
