"""No trial outlives its study: find and end every process a study's trials started.

Each trial's environment carries ``VERTEX_HYDRA_LOCAL_TRIAL=<workdir>::<trial id>``,
which every process it starts inherits: grandchildren behind a wrapper script
(``command: [bash, run.sh]``) and children that escape into a session of their
own. The marker is also the guard against pid reuse: a process is ended only if
its own ``/proc/<pid>/environ`` carries the marker.

Three places end such processes: a trial's end (what its process group left),
the study's start (what a runner killed with ``kill -9`` left, before any trial
starts, so ``--resume`` never runs beside them), and a :class:`Watchdog`, a small
process of its own session that waits on a pipe from the runner and, when the
runner dies (even by SIGKILL), ends every process of the study.

Example:
    >>> marker(Path("/tmp/study"), "3")
    '/tmp/study::3'
    >>> find("/no/such/study::", prefix=True)
    []
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["MARKER", "Watchdog", "end", "find", "marker", "study_prefix"]

#: The environment variable naming the study and trial a process belongs to.
MARKER = "VERTEX_HYDRA_LOCAL_TRIAL"


def marker(workdir: Path, trial_id: str) -> str:
    """The marker value of one trial of the study in ``workdir``.

    Example:
        >>> marker(Path("/w"), "1")
        '/w::1'
    """
    return f"{workdir}::{trial_id}"


def study_prefix(workdir: Path) -> str:
    """The prefix every marker of the study in ``workdir`` starts with.

    Example:
        >>> study_prefix(Path("/w"))
        '/w::'
    """
    return f"{workdir}::"


def find(value: str, *, prefix: bool = False) -> list[int]:
    """The live processes whose marker equals ``value`` (or starts with it).

    Example:
        >>> find("/w::1")
        []
    """
    key = f"{MARKER}={value}".encode()
    own = os.getpid()
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == own:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as file:
                entries = file.read().split(b"\0")
        except OSError:
            continue  # gone, or not ours
        if any(e == key or (prefix and e.startswith(key)) for e in entries):
            found.append(int(name))
    return found


def end(value: str, *, prefix: bool = False, timeout: float = 5.0) -> int:
    """SIGKILL the processes :func:`find` names, wait until they are gone; return how many.

    Example:
        >>> end("/w::1")
        0
    """
    pids = find(value, prefix=prefix)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while find(value, prefix=prefix) and time.monotonic() < deadline:
        time.sleep(0.01)  # a killed process loses its environ once it is a zombie
    return len(pids)


class Watchdog:
    """A process that ends the study's processes once the runner is gone.

    Args:
        workdir: The study folder.

    Example:
        >>> dog = Watchdog(Path("/tmp/study"))  # doctest: +SKIP
        >>> dog.close()  # doctest: +SKIP
    """

    def __init__(self, workdir: Path) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "vertex_hydra.local.reaper", study_prefix(workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal must not end it first
        )

    def close(self, timeout: float = 10.0) -> None:
        """Tell the watchdog the runner ends on purpose, and wait for its last sweep.

        The runner leaves only once the sweep is over, so that nothing of the
        study, the watchdog included, is still running when the command returns.
        """
        if self.popen.stdin is not None:
            self.popen.stdin.close()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # it goes on alone and still ends the study's processes


def _watch(value: str) -> None:
    """The watchdog's body: wait for EOF on stdin (the runner's death), then sweep."""
    while sys.stdin.buffer.read(4096):
        pass
    end(value, prefix=True)


if __name__ == "__main__":
    _watch(sys.argv[1])
