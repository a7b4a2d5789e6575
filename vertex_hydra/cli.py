"""The ``vertex-hydra`` command line: ``check``, ``local``, ``submit`` and ``results``.

Each subcommand lives in its own module, which exposes
``add_parser(subparsers) -> argparse.ArgumentParser`` and sets ``func`` (a
``Callable[[argparse.Namespace], int]``) as the parser default. Those modules
import their heavy dependencies inside ``func`` only, so ``--help`` is instant.

Example:
    >>> from vertex_hydra.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    vertex-hydra 0.1.0
    0
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

from vertex_hydra._version import __version__
from vertex_hydra.errors import VertexHydraError

__all__ = ["main", "console_main", "build_parser", "COMMAND_MODULES", "COMMANDS"]

#: Modules that each add one or more subcommands, in ``--help`` order.
COMMAND_MODULES = (
    "vertex_hydra.check._cli",
    "vertex_hydra.local._cli",
    "vertex_hydra.cloud._cli",
    "vertex_hydra.dashboard._cli",
)
#: The module that adds each subcommand: a command's run imports only its own module.
COMMANDS = {
    "check": "vertex_hydra.check._cli",
    "local": "vertex_hydra.local._cli",
    "submit": "vertex_hydra.cloud._cli",
    "results": "vertex_hydra.cloud._cli",
    "dashboard": "vertex_hydra.dashboard._cli",
}

_DESCRIPTION = """\
Run a Vertex AI hyperparameter-tuning job file (the YAML you pass to
'gcloud ai hp-tuning-jobs create --config') against your Hydra app:
  check    compose the Hydra config of every trial before any money is spent
  local    run the whole study on this machine, in parallel, as Vertex would
  submit   send the job to Vertex AI
  results  fetch a Vertex job's trials and render them like 'local' does
  dashboard  open a local or results study in optuna-dashboard, on 127.0.0.1
"""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the ``vertex-hydra`` argument parser with every available subcommand.

    Args:
        command: Add only the module of this subcommand (see :data:`COMMANDS`),
            so that running it imports nothing the other commands need. An
            unknown or missing name adds every subcommand (``--help``, errors).

    Example:
        >>> build_parser().parse_args(["check", "job.yaml"]).command
        'check'
    """
    parser = argparse.ArgumentParser(
        prog="vertex-hydra",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vertex-hydra {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Args:
        argv: Arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when the job has problems, 2 on a usage error.

    Example:
        >>> main(["check", "examples/digits/job.yaml"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # The top-level options (--help, --version) take no value: the first other word is the command.
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except VertexHydraError as error:
        sys.stderr.write(f"vertex-hydra {args.command}: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"vertex-hydra {args.command}: interrupted\n")
        return 130


def console_main() -> None:
    """The ``vertex-hydra`` program: run :func:`main`, then leave at once with its status.

    Everything the command writes is flushed first. The interpreter's own
    teardown (freeing Optuna, SQLAlchemy, matplotlib and plotly, a quarter of a
    second) is skipped: by then every trial has ended and every file is closed.
    Code that calls :func:`main` in-process, and a run under a profiler or a
    coverage tracer (which write their files at exit), keep the normal exit.
    ``vertex-hydra`` and ``python -m vertex_hydra`` run it.

    Example:
        >>> console_main()  # doctest: +SKIP
    """
    status = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(status)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            status = status or 1
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    console_main()
