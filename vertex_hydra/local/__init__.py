"""``vertex-hydra local``: run a whole Vertex AI tuning job on this machine.

This module is the command line; :class:`vertex_hydra.local.runner.LocalStudy` runs
the study. Only the standard library is imported here, so ``vertex-hydra --help``
stays instant; optuna and matplotlib load when the command runs.

Example:
    >>> from vertex_hydra.cli import main
    >>> main(["local", "examples/digits/job.yaml", "--max-trials", "4"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from vertex_hydra.errors import MissingDependencyError
from vertex_hydra.jobspec import JobSpec, load_job

__all__ = ["add_parser", "default_workdir", "run"]


def default_workdir(job: JobSpec) -> Path:
    """``./vertex-hydra-local/<displayName, or job folder-job file stem>``.

    Example:
        >>> default_workdir(load_job("examples/digits/job.yaml"))  # doctest: +SKIP
        PosixPath('vertex-hydra-local/digits-job')
    """
    name = job.display_name or (
        f"{job.path.resolve().parent.name}-{job.path.stem}" if job.path else "study"
    )
    return Path("vertex-hydra-local") / (re.sub(r"[^\w.-]+", "_", name).strip("._") or "study")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``local`` to the ``vertex-hydra`` subcommands (see :mod:`vertex_hydra.cli`).

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).prog.endswith("local")
        True
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "local",
        help="run the whole study on this machine, in parallel, as Vertex would",
        description="Run every trial of a Vertex AI tuning job file on this machine, "
        "parallelTrialCount at a time, with Optuna standing in for Vertex's search and "
        "a SQLite store in --workdir. Ctrl-C stops cleanly; --resume continues.",
    )
    parser.add_argument("job", metavar="JOB.yaml", help="the job file (gcloud --config)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        metavar="DIR",
        help="study folder (default: ./vertex-hydra-local/<job name>)",
    )
    parser.add_argument(
        "--parallel",
        type=_positive,
        default=None,
        metavar="N",
        help="trials at once (default: parallelTrialCount)",
    )
    parser.add_argument(
        "--max-trials",
        type=_positive,
        default=None,
        metavar="N",
        help="total trials (default: maxTrialCount; on --resume, the "
        "study's own --max-trials if it was started with one)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the interrupted study in --workdir"
    )
    parser.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the sampler")
    parser.set_defaults(func=run)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``vertex-hydra local`` with parsed ``args``; return the exit status.

    Raises:
        MissingDependencyError: optuna or matplotlib is not installed.
        ConfigurationError: The job file or the workdir cannot be used.

    Example:
        >>> from vertex_hydra.cli import main
        >>> main(["local", "job.yaml", "--parallel", "2"])  # doctest: +SKIP
        0
    """
    import importlib.util

    missing = [m for m in ("optuna", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"'vertex-hydra local' needs {' and '.join(missing)}, which is not installed. "
            'Fix: pip install "vertex-hydra[local]"'
        )
    job = load_job(args.job)
    workdir = args.workdir if args.workdir is not None else default_workdir(job)
    from vertex_hydra.local.runner import LocalStudy

    return LocalStudy(
        job,
        workdir,
        parallel=args.parallel,
        max_trials=args.max_trials,
        seed=args.seed,
        resume=args.resume,
    ).run()
