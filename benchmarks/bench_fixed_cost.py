"""The fixed cost of a study, this checkout against an earlier commit, run by turns.

Run: ``python benchmarks/bench_fixed_cost.py --against c9c6e29 --runs 7`` (about
three minutes on 2 cores).

The fixed cost of a study (target <= 1.5 s) is the time beyond the ideal schedule
of its trials: from the command's start to the first trial's start, plus from the
last trial's end to the command's exit (times of the store). On a shared machine
it drifts by a third within minutes, so one figure says little; here each run of
this checkout is followed by a run of the other commit (checked out into a temporary
git worktree), on the same study as ``bench_local.py`` (8 trials of 2 s, two at a
time), and the medians are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_local import _job  # noqa: E402 - the same study as bench_local's

ROOT = Path(__file__).resolve().parent.parent


def _run(tree: Path, folder: Path) -> tuple[float, float]:
    """One study with the vertex_hydra of ``tree``; (start to first start, last end to exit)."""
    job = _job(folder)
    workdir = folder / "study"
    env = dict(os.environ, PYTHONPATH=str(tree))
    argv = [sys.executable, "-m", "vertex_hydra", "local", str(job), "--workdir", str(workdir)]
    start = time.time()
    subprocess.run(
        [*argv, "--parallel", "2", "--seed", "0"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=tree,
    )
    end = time.time()
    study = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{workdir / 'study.db'}"
    )
    first = min(t.datetime_start for t in study.trials).timestamp()
    last = max(t.datetime_complete for t in study.trials).timestamp()
    return first - start, end - last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the commit to compare with")
    parser.add_argument("--runs", type=int, default=7, help="studies of each (default 7)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(other), args.against],
            check=True,
        )
        try:
            figures: dict[str, list[tuple[float, float]]] = {"this checkout": [], args.against: []}
            for i in range(args.runs):
                for name, tree in (("this checkout", ROOT), (args.against, other)):
                    figures[name].append(
                        _run(tree, Path(tmp) / f"{i}-{len(figures[name])}-{name[:4]}")
                    )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)])
    print(f"fixed cost of a study, {args.runs} runs each by turns (target <= 1.5 s):")
    for name, runs in figures.items():
        costs = sorted(h + t for h, t in runs)
        print(
            f"  {name:>14}: median {statistics.median(costs):.2f} s (lowest {costs[0]:.2f} s, "
            f"highest {costs[-1]:.2f} s); start to first trial start "
            f"{statistics.median(h for h, _ in runs):.2f} s, last trial end to exit "
            f"{statistics.median(t for _, t in runs):.2f} s"
        )


if __name__ == "__main__":
    main()
