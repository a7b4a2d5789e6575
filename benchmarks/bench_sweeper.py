"""The overhead of ``python app.py -m`` with ``hydra/sweeper: vertex`` over ``vertex-hydra local``.

Both run the same study (``tests/apps/sweeper_app``, 4 trials, 2 at a time, each
trial a real Hydra app that reports one metric): the sweeper from its
``hparams_search`` file, ``local`` from the job file the ``export`` backend wrote
for it. Wall time of the whole command, median of ``REPEATS`` runs.

Run: ``python benchmarks/bench_sweeper.py`` (about 30 s on 2 cores).
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

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Print one line per command: median and spread of its wall time."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(ROOT / "tests" / "apps" / "sweeper_app", app)
        common = ["hparams_search=vertex", "hydra.sweeper.vertex.image_uri=img"]
        _run([sys.executable, "app.py", *common, "hydra.sweeper.backend=export",
              f"hydra.sweep.dir={tmp}/export"], app, env)  # fmt: skip
        shutil.copy(Path(tmp) / "export" / "job.yaml", app / "job.yaml")
        timings: dict[str, list[float]] = {
            "python app.py -m (sweeper)": [],
            "vertex-hydra local": [],
        }
        for i in range(REPEATS):
            timings["python app.py -m (sweeper)"].append(
                _run([sys.executable, "app.py", *common, f"hydra.sweep.dir={tmp}/s{i}"], app, env)
            )
            timings["vertex-hydra local"].append(
                _run(
                    [
                        sys.executable,
                        "-m",
                        "vertex_hydra",
                        "local",
                        "job.yaml",
                        "--workdir",
                        f"{tmp}/l{i}",
                        "--seed",
                        "0",
                    ],
                    app,
                    env,
                )  # fmt: skip
            )
    print(f"{'command (4 trials, 2 at a time)':<34} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, seconds in timings.items():
        print(
            f"{name:<34} {statistics.median(seconds):>9.2f} {min(seconds):>7.2f} {max(seconds):>7.2f}"
        )
    overhead = statistics.median(timings["python app.py -m (sweeper)"]) - statistics.median(
        timings["vertex-hydra local"]
    )
    print(f"overhead of the sweeper: {overhead:+.2f} s")


if __name__ == "__main__":
    main()
