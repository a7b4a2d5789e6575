"""``vertex-hydra local``: the command line of the study engine, and all its output.

The engine itself is :class:`vertex_hydra.local.Study`; this module parses the
arguments, shows progress (:class:`~vertex_hydra.local.progress.Progress`),
prints the results (:func:`vertex_hydra.results.render`) and turns
:attr:`Study.end_reason` into the exit status.

Example:
    >>> from vertex_hydra.cli import main
    >>> main(["local", "examples/digits/job.yaml", "--max-trials", "4"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from vertex_hydra.errors import MissingDependencyError
from vertex_hydra.jobspec import load_job
from vertex_hydra.local.progress import Console
from vertex_hydra.local.store import StoreLostError
from vertex_hydra.local.study import Study, default_workdir

__all__ = ["add_parser", "run"]

#: Exit status for each end of a study (an interruption: 128 + the signal's number).
_EXIT = {"completed": 0, "failures": 1}
_SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}


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

    Returns:
        0 when the study ran to its end, 1 when ``maxFailedTrialCount`` stopped
        it or its store was lost (``study.db`` deleted, replaced or made
        unwritable while it ran: one sentence on stderr, nothing kept), 130 or
        143 when SIGINT or SIGTERM interrupted it.

    Raises:
        MissingDependencyError: optuna, matplotlib or plotly is not installed.
        ConfigurationError: The job file or the workdir cannot be used.

    Example:
        >>> from vertex_hydra.cli import main
        >>> main(["local", "job.yaml", "--parallel", "2"])  # doctest: +SKIP
        0
    """
    missing = [m for m in ("optuna", "matplotlib", "plotly") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"'vertex-hydra local' needs {' and '.join(missing)}, which is not installed. "
            'Fix: pip install "vertex-hydra[local]"'
        )
    job = load_job(args.job)
    workdir = args.workdir if args.workdir is not None else default_workdir(job)
    study = Study(
        job,
        workdir,
        parallel=args.parallel,
        max_trials=args.max_trials,
        seed=args.seed,
        resume=args.resume,
    )
    console = Console(
        sys.stdout,
        resume=f"Resume with: vertex-hydra local {job.path} --workdir {workdir} --resume",
        limit=f", maxFailedTrialCount={job.max_failed_trial_count}",
    )
    try:
        study.run(console)
    except StoreLostError as error:
        console.close()
        sys.stderr.write(f"vertex-hydra local: error: {error}\n")
        return 1
    if study.end_reason == "interrupted":
        return _SIGNAL_EXIT.get(study.signal or "", 130)
    return _EXIT[study.end_reason or "completed"]
