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


# --- A lost store (issue 15): study.db deleted or made unusable while trials run -------------

from local_support import write_job  # noqa: E402

from vertex_hydra.jobspec import load_job  # noqa: E402
from vertex_hydra.local import Study, StudyObserver, reaper  # noqa: E402
from vertex_hydra.local.store import StoreLostError  # noqa: E402

X = {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}}


def _run_local(job: Path, workdir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_ML_", "AIP_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "vertex_hydra", "local", str(job), "--workdir", str(workdir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_trials(workdir: Path, runner: subprocess.Popen[str], count: int) -> list[int]:
    """The pids of the study's trial processes, once ``count`` of them run."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert runner.poll() is None, runner.communicate()
        pids = reaper.find(reaper.study_prefix(workdir.resolve()), prefix=True)
        if len(pids) >= count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"{count} trials did not start")


def _lose_store(workdir: Path, how: str) -> None:
    db = workdir / "study.db"
    if how == "delete":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    elif how == "directory":
        db.unlink()
        db.mkdir()
    else:  # "read-only folder"
        workdir.chmod(0o500)


_LOSSES = [
    ("delete", "was deleted"),
    ("directory", "was replaced by something that is not a file"),
    ("read-only folder", "was made unwritable (it or its folder)"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("how", "what"), _LOSSES)
def test_a_lost_store_stops_the_command_at_once_ends_its_trials_and_claims_nothing(
    tmp_path: Path, how: str, what: str
) -> None:
    if how == "read-only folder" and os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder (the 'directory' case covers it)")
    job = write_job(tmp_path, [X], args=["steps=400", "sleep=0.25"], max_trials=6, parallel=2)
    workdir = tmp_path / "study"
    runner = _run_local(job, workdir)
    try:
        started = _wait_for_trials(workdir, runner, 2)
        _lose_store(workdir, how)
        out, err = runner.communicate(timeout=60)
    finally:
        workdir.chmod(0o700)
        runner.kill()
    db = workdir.resolve() / "study.db"
    assert runner.returncode == 1, out + err
    assert err == (
        f"vertex-hydra local: error: the study's store {db} {what} while the study ran: its "
        "running trials were ended and no result of this run is kept. Fix: leave the study "
        "folder alone while a study runs, then start again (another --workdir, or --resume if "
        "the file is back).\n"
    )
    assert "kept in" not in out and "Traceback" not in out + err
    assert [p for p in started if _alive(p)] == []
    assert reaper.find(reaper.study_prefix(workdir.resolve()), prefix=True) == []


class _LoseStoreAtTrial(StudyObserver):
    """Loses the store as trial ``at`` starts (an observer runs in the study's thread)."""

    def __init__(self, workdir: Path, at: str, how: str) -> None:
        self.workdir, self.at, self.how = workdir, at, how
        self.finished: list[str] = []
        self.ended = False

    def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
        if trial_id == self.at:
            db = self.workdir / "study.db"
            if self.how == "copy":  # another file under the same name: not the study's store
                db.with_name("copy.db").write_bytes(db.read_bytes())
                os.replace(db.with_name("copy.db"), db)
            else:
                _lose_store(self.workdir, self.how)

    def trial_finished(self, result: object) -> None:
        self.finished.append(getattr(result, "trial_id"))

    def study_ended(self, end: object) -> None:
        self.ended = True


@pytest.mark.parametrize(
    ("how", "what"), [("delete", "was deleted"), ("copy", "was replaced by another file")]
)
def test_the_study_raises_store_lost_and_no_trial_process_remains(
    tmp_path: Path, how: str, what: str
) -> None:
    job = write_job(tmp_path, [X], args=["steps=400", "sleep=0.25"], max_trials=4, parallel=2)
    workdir = tmp_path / "w"
    watcher = _LoseStoreAtTrial(workdir, "2", how)
    study = Study(load_job(job), workdir, seed=0)
    with pytest.raises(StoreLostError) as raised:
        study.run(watcher)
    assert str(raised.value).startswith(f"the study's store {workdir / 'study.db'} {what} while")
    assert (watcher.finished, watcher.ended) == ([], False)
    assert reaper.find(reaper.study_prefix(workdir), prefix=True) == []
    assert not (workdir / ".lock").exists()
