"""The overhead of ``python app.py -m`` with ``hydra/sweeper: vertex`` over ``vertex-hydra local``.

Both run the same study (``tests/apps/sweeper_app``, 4 trials, 2 at a time, each
trial a real Hydra app that reports one metric): the sweeper from its
``hparams_search`` file, ``local`` from the job file the ``export`` backend wrote
for it. The two commands alternate, ``REPEATS`` times each.

Two figures per command, medians over the runs:

- its wall time;
- its fixed cost: from the command's start to the first trial's start, plus
  from the last trial's end to the command's exit (times of the store). The
  trial loop between them is the same work for both commands, and the part of
  the wall time that varies most from run to run, so the difference of the fixed
  costs is the sweeper's overhead (target <= 0.5 s).

Run: ``python benchmarks/bench_sweeper.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 7


def _run(argv: list[str], cwd: Path, env: dict[str, str], store: Path) -> tuple[float, float]:
    """Run one study; return its wall time and its fixed cost (both in seconds)."""
    start = time.time()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    end = time.time()
    storage = f"sqlite:///{store}"
    (summary,) = optuna.get_all_study_summaries(storage)
    trials = optuna.load_study(study_name=summary.study_name, storage=storage).trials
    first = min(t.datetime_start for t in trials if t.datetime_start is not None).timestamp()
    last = max(t.datetime_complete for t in trials if t.datetime_complete is not None).timestamp()
    return end - start, (first - start) + (end - last)


def main() -> None:
    """Print one line per command, then the overhead of the sweeper."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sweeper, local = "python app.py -m (sweeper)", "vertex-hydra local"
    walls: dict[str, list[float]] = {sweeper: [], local: []}
    fixed: dict[str, list[float]] = {sweeper: [], local: []}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(ROOT / "tests" / "apps" / "sweeper_app", app)
        common = ["hparams_search=vertex", "hydra.sweeper.vertex.image_uri=img"]
        subprocess.run([sys.executable, "app.py", *common, "hydra.sweeper.backend=export",
                        f"hydra.sweep.dir={tmp}/export"], cwd=app, env=env, check=True,
                       capture_output=True)  # fmt: skip
        shutil.copy(Path(tmp) / "export" / "job.yaml", app / "job.yaml")
        for i in range(REPEATS):
            s_dir, l_dir = Path(tmp) / f"s{i}", Path(tmp) / f"l{i}"
            argv = [sys.executable, "app.py", *common, f"hydra.sweep.dir={s_dir}"]
            wall, cost = _run(argv, app, env, s_dir / "study.db")
            walls[sweeper].append(wall)
            fixed[sweeper].append(cost)
            argv = [sys.executable, "-m", "vertex_hydra", "local", "job.yaml",
                    "--workdir", str(l_dir), "--seed", "0"]  # fmt: skip
            wall, cost = _run(argv, app, env, l_dir / "study.db")
            walls[local].append(wall)
            fixed[local].append(cost)
    print(f"{REPEATS} runs each of 4 trials, 2 at a time; medians (min-max) in seconds")
    print(f"{'command':<28} {'wall':>18} {'fixed cost':>18}")
    for name in (sweeper, local):
        w, f = walls[name], fixed[name]
        print(
            f"{name:<28} {statistics.median(w):>6.2f} ({min(w):.2f}-{max(w):.2f})"
            f" {statistics.median(f):>6.2f} ({min(f):.2f}-{max(f):.2f})"
        )
    overhead = statistics.median(fixed[sweeper]) - statistics.median(fixed[local])
    print(f"overhead of the sweeper (fixed cost): {overhead:+.2f} s (target <= 0.5 s)")
    wall_overhead = statistics.median(walls[sweeper]) - statistics.median(walls[local])
    print(f"overhead of the sweeper (wall time):  {wall_overhead:+.2f} s")


if __name__ == "__main__":
    main()
