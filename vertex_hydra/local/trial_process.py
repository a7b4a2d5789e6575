"""One trial as an operating-system process: start it, watch it, stop its whole group.

Each trial runs in a session (hence a process group) of its own, so that a
signal reaches the trial and everything it started (DataLoader workers, DDP
ranks), and so that Ctrl-C in the terminal reaches only the runner, which then
stops every trial in order. If the runner dies without cleaning up, a study's
trial (its environment carries :data:`~vertex_hydra.local.reaper.MARKER`) is
ended by the study's :class:`~vertex_hydra.local.reaper.Watchdog`; any other
process started here receives SIGTERM from Linux (``PR_SET_PDEATHSIG``).

Example:
    >>> import sys, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> proc = TrialProcess([sys.executable, "-c", "print('hi')"], env=None, cwd=".", folder=folder)
    >>> proc.wait(10)
    0
    >>> (folder / "stdout.log").read_text()
    'hi\\n'
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from vertex_hydra.local import reaper

__all__ = ["GRACE_SECONDS", "TrialProcess", "describe_exit", "inherited_environment"]

_PR_SET_PDEATHSIG = 1

#: A trial asked to stop gets SIGTERM, then SIGKILL this many seconds later.
GRACE_SECONDS = 5.0

#: Variables of this process that no trial inherits: Vertex sets its own.
_VERTEX_PREFIXES = ("CLOUD_ML_", "AIP_")


def inherited_environment(drop: Collection[str] = ()) -> dict[str, str]:
    """This process's environment as a trial inherits it: no Vertex variables, nothing in ``drop``.

    Example:
        >>> import os
        >>> os.environ["CLOUD_ML_TRIAL_ID"] = "7"
        >>> "CLOUD_ML_TRIAL_ID" in inherited_environment(), "PATH" in inherited_environment({"PATH"})
        (False, False)
        >>> del os.environ["CLOUD_ML_TRIAL_ID"]
    """
    return {
        k: v for k, v in os.environ.items() if not k.startswith(_VERTEX_PREFIXES) and k not in drop
    }


def _die_with_runner() -> Callable[[], object] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the trial when the runner dies.

    Everything is resolved here, in the parent: the child, between fork and
    exec, only calls ``prctl``, with no import (whose lock another thread of
    the parent, e.g. in a notebook kernel, might hold at fork time).
    """
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # best effort: without it, only a clean runner exit stops trials
    return functools.partial(prctl, _PR_SET_PDEATHSIG, int(signal.SIGTERM))


def describe_exit(code: int) -> str:
    """Say how a process ended, from its ``Popen.returncode``.

    Example:
        >>> describe_exit(2), describe_exit(-9)
        ('exit status 2', 'killed by signal SIGKILL')
    """
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class TrialProcess:
    """A trial's process, its output files and its timing.

    Args:
        argv: The exact command line (no shell).
        env: The full environment (``None``: inherit this one).
        cwd: Working directory of the trial.
        folder: Receives ``stdout.log`` and ``stderr.log``.

    Raises:
        OSError: The program cannot be started (e.g. not found).

    Example:
        >>> TrialProcess(["true"], None, ".", folder).wait(5)  # doctest: +SKIP
        0
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        cwd: str | Path,
        folder: str | Path,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self.started_wall = time.time()
        self.finished: float | None = None
        self.stop_requested = False
        self._kill_at: float | None = None
        self._marker = None if env is None else env.get(reaper.MARKER)
        with (
            open(self.folder / "stdout.log", "wb") as out,
            open(self.folder / "stderr.log", "wb") as err,
        ):
            self.popen = subprocess.Popen(
                list(argv),
                cwd=str(cwd),
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                # A study's trial (it carries the marker) is ended by the study's
                # Watchdog if the runner dies; prctl in a preexec_fn would cost a full
                # fork of the runner (~8 ms) instead of vfork (~1 ms) on every start.
                preexec_fn=None if self._marker else _die_with_runner(),  # noqa: PLW1509
            )

    @property
    def pid(self) -> int:
        """The trial's process id, which is also its process-group id."""
        return self.popen.pid

    def poll(self) -> int | None:
        """The exit code once the process has ended (``None`` before); escalates a stop."""
        code = self.popen.poll()
        if code is None:
            if self._kill_at is not None and time.monotonic() >= self._kill_at:
                self.signal(signal.SIGKILL)
                self._kill_at = None
            return None
        if self.finished is None:
            self.finished = time.monotonic()
            # The trial has ended, but processes it started may linger in its group,
            # or in a session of their own (they still carry the trial's marker).
            self.signal(signal.SIGKILL)
            if self._marker is not None:
                reaper.end(self._marker)
        return code

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the trial's whole process group (no error if it is gone)."""
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float = 5.0) -> None:
        """Ask the group to terminate (SIGTERM); :meth:`poll` sends SIGKILL after ``grace`` s."""
        self.stop_requested = True
        self.signal(signal.SIGTERM)
        self._kill_at = time.monotonic() + grace

    def wait(self, timeout: float) -> int | None:
        """Poll until the process ends or ``timeout`` seconds pass; return :meth:`poll`."""
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return code

    @property
    def seconds(self) -> float:
        """Wall time from start to exit (or to now, while it runs)."""
        return (self.finished or time.monotonic()) - self.started

    def stderr_tail(self, lines: int = 15, chars: int = 2000) -> str:
        """The last lines of the trial's stderr (what a FAILED trial keeps as its error)."""
        try:
            text = (
                (self.folder / "stderr.log")
                .read_bytes()[-chars * 2 :]
                .decode("utf-8", errors="replace")
            )
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])[-chars:]
