"""The ``dashboard`` subcommand: its options and what it prints.

Example:
    >>> from vertex_hydra.cli import main
    >>> main(["dashboard", "vertex-hydra-local/digits-hpt"])  # doctest: +SKIP
    Dashboard of vertex-hydra-local/digits-hpt/study.db: http://127.0.0.1:40123/dashboard
    Press Ctrl-C to stop.
    130
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from vertex_hydra.dashboard import open_dashboard

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``dashboard``; return its parser.

    Example:
        >>> sub = argparse.ArgumentParser(prog="vertex-hydra").add_subparsers()
        >>> add_parser(sub).prog
        'vertex-hydra dashboard'
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dashboard",
        help="open a local or results study in optuna-dashboard",
        description="Serve the study in DIR (the --workdir of 'local' or 'results', which "
        "holds study.db) with optuna-dashboard on 127.0.0.1 and print its URL. "
        'Ctrl-C stops it. Needs: pip install "vertex-hydra[dashboard]".',
    )
    parser.add_argument("workdir", type=Path, metavar="DIR", help="the study folder")
    parser.add_argument("--port", type=int, default=0, metavar="N",
                        help="port on 127.0.0.1 (default: a free one)")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; return 130 or 143 then (as ``local`` does when interrupted).

    Both signals are taken over while serving, so the server stops even when it
    was started with SIGINT ignored (as a shell does for ``command &``).

    Example:
        >>> from vertex_hydra.cli import main
        >>> main(["dashboard", "runs/study", "--port", "8080"])  # doctest: +SKIP
        130
    """
    server = open_dashboard(args.workdir, port=args.port)
    received: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        received.append(signum)
        server.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sys.stdout.write(f"Dashboard of {server.store}: {server.url}\nPress Ctrl-C to stop.\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
    sys.stderr.write("vertex-hydra dashboard: stopped\n")
    return 143 if received[-1:] == [signal.SIGTERM] else 130
