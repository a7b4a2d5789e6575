"""The parallel speed-up of ``hydra/sweeper: vertex`` (backend ``local``) over hydra-optuna-sweeper.

Both sweepers run the same sleep-bound study with ``python app.py -m``: a small Hydra app
(written by this script into a temporary folder) whose trials sleep ``SLEEP`` seconds, then
score two parameters (``x: interval(0, 1)``, ``n: range(1, 4)``), ``TRIALS`` trials with
``n_jobs: 2``. The app reports the score with hypertune (read by the vertex sweeper, whose
trials are subprocesses, two at a time) and returns it (read by hydra-optuna-sweeper, whose
batches of ``n_jobs`` trials run one after another in-process with Hydra's basic launcher).
The two commands alternate, ``REPEATS`` times each; each run's sweep dir is checked to hold
all its trials, so a failed run stops the benchmark instead of being timed.

Printed, for each trial length: the wall time of each command (median, min-max), the ideal
times (trials one at a time, two at a time), and the speed-up = optuna-sweeper median /
vertex-sweeper median. A trial of the vertex sweeper is a process of its own, as on Vertex AI
(about 0.9 s of Python, Hydra and vertex_hydra start-up on 2 busy cores), and the sweeper has
a fixed cost of its own (Optuna's store, plots, ``report.html``), so the speed-up grows with
the trial length towards ``n_jobs``.

hydra-optuna-sweeper 1.2.0 needs ``optuna<3``, so it runs in a venv of its own, created on
the first run (needs PyPI) in ``$VERTEX_HYDRA_BENCH_VENV`` or
``~/.cache/vertex-hydra-bench/optuna-sweeper-venv`` and reused afterwards.

Run: ``python benchmarks/bench_sweeper_vs_optuna.py [SLEEP ...]`` (trial lengths in
seconds, default 1 3 10; about 9 minutes on 2 cores once the venv exists). Not run by the
tests or CI.
"""

from __future__ import annotations

import csv
import importlib.metadata
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3
TRIALS = 8
SLEEPS = [float(a) for a in sys.argv[1:]] or [1.0, 3.0, 10.0]
VENV = Path(
    os.environ.get("VERTEX_HYDRA_BENCH_VENV")
    or Path.home() / ".cache" / "vertex-hydra-bench" / "optuna-sweeper-venv"
)
# hydra-optuna-sweeper asks for ``hydra-core>=1.1.0.dev7``: a pre-release in the specifier lets
# pip pick hydra-core 1.4.0rc3 (and omegaconf 2.4.1rc1), so pin the main venv's Hydra.
PINS = [
    "hydra-optuna-sweeper==1.2.0",
    "optuna==2.10.1",
    f"hydra-core=={importlib.metadata.version('hydra-core')}",
    "cloudml-hypertune",
]

APP = """\
import time

import hydra
import hypertune
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    time.sleep(float(cfg.sleep))
    score = 1.0 - (float(cfg.x) - 0.3) ** 2 - 0.1 * (int(cfg.n) - 2) ** 2
    hypertune.HyperTune().report_hyperparameter_tuning_metric("score", score, global_step=1)
    return score


if __name__ == "__main__":
    main()
"""
CONFIG = "defaults:\n  - _self_\n  - hparams_search: null\nx: 0.5\nn: 1\nsleep: 1.0\n"
SEARCH = """\
# @package _global_
defaults:
  - override /hydra/sweeper: {name}
hydra:
  mode: MULTIRUN
  sweeper:
    direction: maximize
    n_trials: {trials}
    n_jobs: 2
{extra}    params:
      x: interval(0, 1)
      n: range(1, 4)
"""
EXTRA = {"vertex": "    metric: score\n    seed: 0\n", "optuna": "    sampler:\n      seed: 0\n"}


def _optuna_python() -> Path:
    """Return the optuna venv's python, creating the venv when missing or pinned otherwise."""
    python, marker = VENV / "bin" / "python", VENV / "bench-pins.txt"
    if python.exists() and marker.exists() and marker.read_text().split() == PINS:
        print(f"optuna-sweeper venv: {VENV} (reused)")
        return python
    print(f"optuna-sweeper venv: creating {VENV} (needs PyPI, first time only): {' '.join(PINS)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", *PINS]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pip install into {VENV} failed:\n{done.stdout}{done.stderr}")
    marker.write_text("\n".join(PINS) + "\n")
    return python


def _check(name: str, sweep_dir: Path) -> None:
    """Fail loudly unless the sweep dir holds the results of all ``TRIALS`` trials."""
    results = sweep_dir / "optimization_results.yaml"
    if not results.exists() or "best_value:" not in results.read_text():
        raise SystemExit(f"{name}: no best_value in {results}")
    if name == "vertex":
        with open(sweep_dir / "trials.csv", newline="", encoding="utf-8") as handle:
            states = [row["state"] for row in csv.DictReader(handle)]
        ok = states == ["SUCCEEDED"] * TRIALS
    else:
        runs = [p for p in sweep_dir.iterdir() if p.name.isdigit() and (p / ".hydra").is_dir()]
        states = sorted(p.name for p in runs)
        ok = sorted(int(s) for s in states) == list(range(TRIALS))
    if not ok:
        raise SystemExit(f"{name}: expected {TRIALS} finished trials in {sweep_dir}, got {states}")


def _run(
    name: str, python: Path, app: Path, sweep_dir: Path, env: dict[str, str], sleep: float
) -> float:
    """Run one study with the sweeper ``name``; return its wall time in seconds."""
    argv = [str(python), "app.py", f"hparams_search={name}", f"hydra.sweep.dir={sweep_dir}",
            f"sleep={sleep}"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=app, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{name}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    _check(name, sweep_dir)
    return wall


def main() -> None:
    """Print the wall time of each sweeper, the ideal times and the speed-up."""
    pythons = {"vertex": Path(sys.executable), "optuna": _optuna_python()}
    labels = {"vertex": "hydra/sweeper: vertex (local)", "optuna": "hydra/sweeper: optuna 1.2.0"}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        (app / "conf" / "hparams_search").mkdir(parents=True)
        (app / "app.py").write_text(APP)
        (app / "conf" / "config.yaml").write_text(CONFIG)
        for name, extra in EXTRA.items():
            text = SEARCH.format(name=name, trials=TRIALS, extra=extra)
            (app / "conf" / "hparams_search" / f"{name}.yaml").write_text(text)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        # The vertex sweeper gives each trial its own metric file; keep optuna's out of /tmp.
        optuna_env = dict(env, CLOUD_ML_HP_METRIC_FILE=str(Path(tmp) / "optuna.metrics"))
        for sleep in SLEEPS:
            walls: dict[str, list[float]] = {"vertex": [], "optuna": []}
            for i in range(REPEATS):
                for name in ("vertex", "optuna"):
                    run_env = env if name == "vertex" else optuna_env
                    sweep_dir = Path(tmp) / f"{name}-{sleep}-{i}"
                    walls[name].append(_run(name, pythons[name], app, sweep_dir, run_env, sleep))
            print(f"\n{REPEATS} runs each of {TRIALS} trials of {sleep:.1f} s, n_jobs 2; "
                  "medians (min-max) in seconds")  # fmt: skip
            for name, label in labels.items():
                w = walls[name]
                print(f"{label:<32} {statistics.median(w):>6.2f} ({min(w):.2f}-{max(w):.2f})")
            print(f"{'ideal, one trial at a time':<32} {TRIALS * sleep:>6.2f}")
            print(f"{'ideal, two trials at a time':<32} {math.ceil(TRIALS / 2) * sleep:>6.2f}")
            speedup = statistics.median(walls["optuna"]) / statistics.median(walls["vertex"])
            print(f"speed-up (optuna median / vertex median): {speedup:.2f}x", flush=True)


if __name__ == "__main__":
    main()
