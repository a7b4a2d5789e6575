"""Benchmark of ``vertex-hydra local``: parallel speed-up, runner overhead, search quality.

Run: ``python benchmarks/bench_local.py`` (about three minutes on 2 cores).

1. Wall time of 8 trials of a sleep-bound Hydra app (the tests' fixture app,
   2 s of sleep per trial) at ``--parallel 2`` against ``--parallel 1``
   (target: ratio <= 0.6). Both the whole command and the trial loop alone
   (first trial start to last trial end, from the store) are shown.
2. The fixed cost of a study (target <= 1.5 s): from the command's start to
   the first trial's start, plus from the last trial's end to the command's exit
   (times of the store, at --parallel 2); the median of 5 studies, with the
   lowest and highest.
3. The runner's overhead per trial beyond the trial process (target <= 35 ms):
   the loop time per trial at ``--parallel 1`` minus the trial process's wall
   time as the runner measured it (start to exit), and minus the median wall
   time of the same command started directly with ``subprocess.run``.
4. Search quality on a known function, in-process through the same sampling
   layer (:mod:`vertex_hydra.local.search`): the trials the default (Bayesian, TPE)
   and RANDOM_SEARCH need to come within 1% of the optimum, median over seeds.
5. Recording excess in a burst: 16, then 50 trials started at once (``--parallel``
   = trials, 1 s of sleep each); for each trial, its recorded seconds minus its
   own run (the app's first line to its last log entry, from its own log), mean
   and max. What is left is the interpreter's start and exit and the runner's
   polling; a lag in recording finished trials during the burst would show here.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

from vertex_hydra.jobspec import JobSpec, load_job
from vertex_hydra.local.search import SearchSpace, make_sampler

APP = Path(__file__).resolve().parent.parent / "tests" / "apps" / "local_app" / "app.py"
TRIALS, SLEEP = 8, 2.0
FIXED_RUNS = 5
BUDGET, SEEDS = 2000, 7


def _job(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    job = {
        "maxTrialCount": TRIALS,
        "parallelTrialCount": 1,
        "studySpec": {
            "metrics": [{"metricId": "score", "goal": "MAXIMIZE"}],
            "parameters": [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}}],
            "algorithm": "RANDOM_SEARCH",
        },
        "trialJobSpec": {
            "workerPoolSpecs": [
                {
                    "containerSpec": {
                        "imageUri": "img",
                        "command": ["python", str(APP)],
                        "args": [f"sleep={SLEEP}", "hydra.run.dir=.", "hydra.output_subdir=null"],
                    }
                }
            ]
        },
    }
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


def _study(job: Path, parallel: int) -> tuple[float, float, float, float, float]:
    """Run one study; return (command wall time, trial-loop wall time, mean trial process
    time, seconds from start to the first trial's start, from the last trial's end to exit)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"w{parallel}-", dir=job.parent)) / "study"
    start = time.perf_counter()
    wall_start = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vertex_hydra",
            "local",
            str(job),
            "--workdir",
            str(workdir),
            "--parallel",
            str(parallel),
            "--seed",
            "0",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    wall_end = time.time()
    study = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{workdir / 'study.db'}"
    )
    first = min(t.datetime_start for t in study.trials)
    last = max(t.datetime_complete for t in study.trials)
    seconds = statistics.mean(t.user_attrs["vertex"]["seconds"] for t in study.trials)
    head = first.timestamp() - wall_start
    tail = wall_end - last.timestamp()
    return wall, (last - first).total_seconds(), seconds, head, tail


def _direct(job_path: Path, runs: int = 3) -> float:
    """Median wall time of one trial command started directly, without the runner."""
    job = load_job(job_path)
    argv = job.trial_argv({"x": 0.5})
    env = {**os.environ, **job.trial_env("1", metric_file=job_path.parent / "direct" / "m")}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=job.working_dir, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _burst(folder: Path, trials: int) -> tuple[float, float]:
    """Run ``trials`` trials at once; return (mean, max) of recorded seconds minus own run."""
    job = yaml.safe_load(_job(folder).read_text())
    log = folder / "log.jsonl"
    job["maxTrialCount"] = job["parallelTrialCount"] = trials
    job["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"] = [
        "sleep=1.0",
        f"log={log}",
        "hydra.run.dir=.",
        "hydra.output_subdir=null",
    ]
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    workdir = folder / "w"
    subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "local", str(path), "--workdir", str(workdir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    began = {e["trial"]: e["began"] for e in entries if e["event"] == "start"}
    ended = {e["trial"]: e["time"] for e in entries if e["event"] == "end"}
    study = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{workdir / 'study.db'}"
    )
    excess = [
        t.user_attrs["vertex"]["seconds"] - (ended[str(t.number + 1)] - began[str(t.number + 1)])
        for t in study.trials
    ]
    assert len(excess) == trials
    return statistics.mean(excess), max(excess)


def _objective(v: dict[str, float | str]) -> float:
    """Known optimum 1.0 at lr=10**-2.5, x=0.37, depth=3 (a tuning-like landscape)."""
    lr, x, depth = float(v["lr"]), float(v["x"]), int(v["depth"])
    return (
        1.0
        - 0.5 * ((math.log10(lr) + 2.5) / 1.5) ** 2
        - 0.5 * ((x - 0.37) / 0.5) ** 2
        - 0.02 * (depth - 3) ** 2
    )


def _trials_to_one_percent(algorithm: str | None, seed: int) -> int | None:
    job = JobSpec.from_dict(
        {
            "maxTrialCount": BUDGET,
            "studySpec": {
                "metrics": [{"metricId": "f", "goal": "MAXIMIZE"}],
                "parameters": [
                    {
                        "parameterId": "lr",
                        "scaleType": "UNIT_LOG_SCALE",
                        "doubleValueSpec": {"minValue": 1e-5, "maxValue": 1.0},
                    },
                    {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}},
                    {"parameterId": "depth", "integerValueSpec": {"minValue": 1, "maxValue": 5}},
                ],
                **({"algorithm": algorithm} if algorithm else {}),
            },
            "trialJobSpec": {
                "workerPoolSpecs": [{"containerSpec": {"imageUri": "i", "command": ["t"]}}]
            },
        }
    )
    space = SearchSpace(job.parameters, job.algorithm)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(job, seed=seed))
    for n in range(1, BUDGET + 1):
        trial = study.ask(space.distributions())
        value = _objective(space.to_vertex(trial.params))
        study.tell(trial, value)
        if value >= 0.99:  # within 1% of the optimum (1.0)
            return n
    return None


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        job = _job(Path(tmp))
        wall1, loop1, process1, _, _ = _study(job, 1)
        wall2, loop2, _, head, tail = _study(job, 2)
        ends = [(head, tail)] + [_study(job, 2)[3:] for _ in range(FIXED_RUNS - 1)]
        direct = _direct(job)
        bursts = {n: _burst(Path(tmp) / f"burst{n}", n) for n in (16, 50)}
    print(f"1. {TRIALS} trials of a sleep-bound Hydra app ({SLEEP:g} s sleep each), 2 cores:")
    print(
        f"   command wall time: --parallel 1 {wall1:.1f} s, --parallel 2 {wall2:.1f} s, "
        f"ratio {wall2 / wall1:.2f} (target <= 0.6)"
    )
    print(
        f"   trial loop only:   --parallel 1 {loop1:.1f} s, --parallel 2 {loop2:.1f} s, "
        f"ratio {loop2 / loop1:.2f}"
    )
    costs = sorted(h + t for h, t in ends)
    print(
        f"2. fixed cost of a study: {statistics.median(costs):.2f} s, median of {FIXED_RUNS} "
        f"(lowest {costs[0]:.2f} s, highest {costs[-1]:.2f} s; start to first trial start "
        f"{statistics.median(h for h, _ in ends):.2f} s, last trial end to exit "
        f"{statistics.median(t for _, t in ends):.2f} s, medians; target <= 1.5 s)"
    )
    per_trial = loop1 / TRIALS
    print(
        f"3. per trial at --parallel 1: {per_trial * 1000:.0f} ms of study loop; the trial "
        f"process ran {process1 * 1000:.0f} ms under the runner and {direct * 1000:.0f} ms "
        "when started directly"
    )
    print(
        f"   runner overhead per trial: {(per_trial - process1) * 1000:.0f} ms beyond the trial "
        f"process it ran, {(per_trial - direct) * 1000:.0f} ms beyond a direct start "
        f"(target <= 35 ms)"
    )
    print(f"4. trials to come within 1% of the optimum (budget {BUDGET}, {SEEDS} seeds, median):")
    for name, algorithm in (("Bayesian (TPE, default)", None), ("RANDOM_SEARCH", "RANDOM_SEARCH")):
        start = time.perf_counter()
        counts = [_trials_to_one_percent(algorithm, seed) for seed in range(SEEDS)]
        reached = [c if c is not None else BUDGET + 1 for c in counts]
        median = statistics.median(reached)
        shown = f"{median:g}" if median <= BUDGET else f"> {BUDGET}"
        print(
            f"   {name:24s} median {shown:>6} trials; per seed {counts} "
            f"({time.perf_counter() - start:.1f} s)"
        )
    print("5. recording excess (recorded seconds - the trial's own run), trials started at once:")
    for n, (mean, worst) in bursts.items():
        print(f"   {n:2d} at once: mean {mean * 1000:.0f} ms, max {worst * 1000:.0f} ms")


if __name__ == "__main__":
    main()
