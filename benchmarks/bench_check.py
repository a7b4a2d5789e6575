"""Benchmark ``vertex-hydra check`` on the digits example against one ``--cfg job`` run.

Run: ``python benchmarks/bench_check.py [JOB.yaml]``. Prints the median wall time
of a whole ``vertex-hydra check`` (a fresh process, as a user runs it) next to
the median of one ``python train.py --cfg job`` of the same app, their ratio,
and the target: at most the number of probe compositions + 1 (the baseline),
which is what running them one after the other would cost.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JOB = ROOT / "examples" / "digits" / "job.yaml"


def wall(argv: list[str], cwd: Path, expect: int = 0) -> float:
    """Wall time of one run of ``argv`` in ``cwd``; fails if it exits with another status."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return seconds


def main() -> None:
    from vertex_hydra.jobspec import load_job

    job_path = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_JOB
    job = load_job(job_path)
    probes = max(len(p.probe_values()) for p in job.parameters)
    target = probes + 1  # the probe compositions and the baseline, run one after another
    single_argv = job.trial_command(sys.executable) + ["--cfg", "job"]
    check_argv = [sys.executable, "-m", "vertex_hydra", "check", str(job_path), "--no-color"]
    wall(single_argv, job.working_dir)  # warm the bytecode caches; not counted
    single, checks = [], []
    for _ in range(5):  # interleaved, so that machine load hits both alike
        single.append(wall(single_argv, job.working_dir))
        checks.append(wall(check_argv, ROOT))
    one, whole = statistics.median(single), statistics.median(checks)
    ratio = whole / one
    verdict = "OK" if ratio <= target else "OVER TARGET"
    print(f"job: {os.path.relpath(job_path, ROOT)} ({len(job.parameters)} parameters)")
    print(f"compositions: {probes} probe batches + 1 baseline, {os.cpu_count()} CPUs")
    print(f"one '{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(single_argv))}': "
          f"{one:.2f} s (median of 5)")  # fmt: skip
    print(f"vertex-hydra check: {whole:.2f} s (median of 5)")
    print(f"ratio: {ratio:.2f} (target <= {target} = compositions + 1) {verdict}")


if __name__ == "__main__":
    main()
