"""``local`` survives a runner killed with SIGKILL: no trial outlives its study, even behind a wrapper."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("optuna")

APP = Path(__file__).parent / "apps" / "faults_app"

JOB = """\
maxTrialCount: 4
parallelTrialCount: 2
studySpec:
  metrics: [{{metricId: score, goal: MAXIMIZE}}]
  parameters:
  - {{parameterId: x, doubleValueSpec: {{minValue: 0.0, maxValue: 1.0}}}}
trialJobSpec:
  workerPoolSpecs:
  - machineSpec: {{machineType: n1-standard-4}}
    replicaCount: 1
    containerSpec:
      imageUri: example.com/faults:1
      command: [bash, {run}]
      args: [pids={pids}]
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _env(sleep: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_ML_", "AIP_"))}
    # run.sh calls plain `python`: make it this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["FAULTS_APP_SLEEP"] = str(sleep)
    return env


def _trial_pids(pids: Path) -> list[int]:
    return [int(p.name) for p in pids.iterdir() if p.name.isdigit()]


@pytest.mark.slow
def test_kill_9_of_the_runner_leaves_no_trial_behind_a_wrapper_and_resume_counts_right(
    tmp_path: Path,
) -> None:
    pids, workdir = tmp_path / "pids", tmp_path / "study"
    job = tmp_path / "job.yaml"
    job.write_text(JOB.format(run=APP / "run.sh", pids=pids))
    command = [sys.executable, "-m", "vertex_hydra", "local", str(job), "--workdir", str(workdir)]
    runner = subprocess.Popen(
        command, env=_env(120), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not pids.exists() or len(_trial_pids(pids)) < 2):
        assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
        time.sleep(0.1)
    started = _trial_pids(pids)
    assert len(started) == 2  # two python grandchildren, each a child of bash
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    assert [p for p in started if _alive(p)] == []  # they would sleep 120 s as orphans

    resumed = subprocess.run(
        [*command, "--resume"], env=_env(0.2), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with (workdir / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    recorded = sorted(r["trial_id"] for r in rows if r["state"] == "SUCCEEDED")
    finished = sorted((pids / "finished.txt").read_text().split())
    assert len(recorded) == 4
    assert finished == recorded  # every trial that ran to the end is recorded, once
    assert [p for p in _trial_pids(pids) if _alive(p)] == []
