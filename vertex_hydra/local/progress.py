"""The live progress display of ``vertex-hydra local``.

Every event (a trial started, finished, stopped) is one line, so logs and
notebooks read well. On a terminal a status line (running trials, finished
count, best so far, elapsed time) is also kept at the bottom with ``\\r``.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> Progress(out, total=4).event("trial 1 started")
    >>> out.getvalue()[-16:]
    'trial 1 started\\n'
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Writes event lines, and a ``\\r`` status line when ``stream`` is a terminal.

    Args:
        stream: Where to write.
        total: The number of trials the study will run.
        tty: Force the status line on or off (default: ``stream.isatty()``).

    Example:
        >>> import sys
        >>> Progress(sys.stdout, total=8, tty=False).event("trial 2 SUCCEEDED")  # doctest: +ELLIPSIS
        [...] trial 2 SUCCEEDED
    """

    def __init__(self, stream: TextIO, total: int, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty()) if tty is None else tty
        self.started = time.monotonic()
        self._status = ""

    def _clock(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def event(self, text: str) -> None:
        """Write one event line (above the status line on a terminal)."""
        clear = "\r\x1b[K" if self.tty and self._status else ""
        self.stream.write(f"{clear}[{self._clock()}] {text}\n")
        if self.tty and self._status:
            self.stream.write(self._status)
        self.stream.flush()

    def status(self, running: list[str], finished: int, best: str | None) -> None:
        """Redraw the status line (terminal only)."""
        if not self.tty:
            return
        shown = ", ".join(running) if running else "none"
        self._status = f"[{self._clock()}] {finished}/{self.total} finished, running: {shown}" + (
            f", best: {best}" if best else ""
        )
        self.stream.write("\r\x1b[K" + self._status)
        self.stream.flush()

    def close(self) -> None:
        """End the status line so that what follows starts on a fresh line."""
        if self.tty and self._status:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._status = ""
