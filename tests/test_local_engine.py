"""The study engine's Python API (``vertex_hydra.local.Study``), its store layout and its friction fixes.

Real trial processes of the fixture app and a real Optuna store; observers are
our own subclasses of the public :class:`StudyObserver`, nothing is patched.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from local_support import read_csv, read_log, write_job

from vertex_hydra.cli import main
from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import load_job
from vertex_hydra.local import Study, StudyEnd, StudyObserver, StudyStart
from vertex_hydra.results import Measurement, TrialResult

pytestmark = pytest.mark.slow

X = {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}}


class Recorder(StudyObserver):
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def study_started(self, start: StudyStart) -> None:
        self.events.append(("started", start.max_trials))

    def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
        self.events.append(("trial_started", trial_id))

    def trial_measured(self, trial_id: str, measurement: Measurement) -> None:
        self.events.append(("measured", (trial_id, measurement.step)))

    def trial_finished(self, result: TrialResult) -> None:
        self.events.append(("finished", (result.trial_id, result.state)))

    def study_ended(self, end: StudyEnd) -> None:
        self.events.append(("ended", end.reason))


def _study_db(workdir: Path) -> optuna.Study:
    return optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{workdir / 'study.db'}"
    )


def test_the_python_api_runs_a_study_and_tells_the_observer(tmp_path: Path) -> None:
    job = write_job(tmp_path, [X], args=["steps=3", "sleep=0.2"], max_trials=3, parallel=2)
    study = Study(load_job(job), tmp_path / "w", seed=0)
    seen = Recorder()
    results = study.run(seen)
    assert (study.end_reason, study.signal) == ("completed", None)
    assert [(t.trial_id, t.state) for t in results.trials] == [
        ("1", "SUCCEEDED"),
        ("2", "SUCCEEDED"),
        ("3", "SUCCEEDED"),
    ]
    kinds = [k for k, _ in seen.events]
    assert kinds[0] == "started" and kinds[-1] == "ended"
    assert [v for k, v in seen.events if k == "finished"] and kinds.count("trial_started") == 3
    assert ("ended", "completed") in seen.events
    for t in results.trials:  # typed measurements, from the store
        assert [m.step for m in t.measurements] == [1, 2, 3]
        assert all(isinstance(m, Measurement) and m.elapsed is not None for m in t.measurements)
        assert t.values["score"] == pytest.approx(t.measurements[-1].values["score"])
    # The store is closed: study.db alone holds the study, no write-ahead log is left.
    assert sorted(p.name for p in (tmp_path / "w").glob("study.db*")) == ["study.db"]
    stored = _study_db(tmp_path / "w")
    assert [sorted(t.intermediate_values) for t in stored.trials] == [[1, 2, 3]] * 3
    assert len(read_csv(tmp_path / "w" / "trials.csv")) == 3


def test_a_refused_run_leaves_no_lock_and_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], max_trials=1)
    work = tmp_path / "new" / "w"
    with pytest.raises(ConfigurationError, match="--resume: there is no study to resume in"):
        Study(load_job(job), work, resume=True).run()
    assert not (tmp_path / "new").exists()
    assert main(["local", str(job), "--workdir", str(work)]) == 0
    assert (tmp_path / "new" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (work / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not (work / ".lock").exists()  # released and removed at the end
    capsys.readouterr()
    assert main(["local", str(job), "--workdir", str(work)]) == 2
    assert "already holds a study" in capsys.readouterr().err
    job.write_text(job.read_text().replace("maxValue: 1.0", "maxValue: 2.0"))
    assert main(["local", str(job), "--workdir", str(work), "--resume"]) == 2
    assert not (work / ".lock").exists()
    # git sees nothing of the study.
    if subprocess.run(["git", "--version"], capture_output=True).returncode == 0:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        status = subprocess.run(
            ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "new/" not in status


def test_every_failed_start_counts_toward_max_failed_trial_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], max_trials=12, parallel=4, max_failed=3)
    job.write_text(job.read_text().replace("- python\n", "- ./no-such-program\n", 1))
    assert main(["local", str(job), "--workdir", str(tmp_path / "w")]) == 1
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [r["state"] for r in rows] == ["FAILED"] * 3
    assert "Study stopped: 3 trials FAILED (limit 3, maxFailedTrialCount=3)" in (
        capsys.readouterr().out
    )


def _downgrade(workdir: Path) -> None:
    """Rewrite a store as vertex-hydra 0.1 wrote it: list measurements, no intermediate values."""
    old = _study_db(workdir)
    path = workdir / "old.db"
    target = optuna.create_study(
        storage=f"sqlite:///{path}", study_name="vertex-hydra-local", directions=old.directions
    )
    for key, value in old.user_attrs.items():
        if key != "layout":
            target.set_user_attr(key, value)
    for t in old.trials:
        t = copy.deepcopy(t)
        t.intermediate_values = {}
        outcome = t.user_attrs["vertex"]
        outcome["measurements"] = [
            [m["step"], m["elapsed"], m["values"]] for m in outcome["measurements"]
        ]
        target.add_trial(t)
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"study.db{suffix}").unlink(missing_ok=True)
    os.replace(path, workdir / "study.db")


def test_a_store_of_the_old_layout_gets_intermediate_values_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], args=["steps=2"], max_trials=2)
    work = tmp_path / "w"
    assert main(["local", str(job), "--workdir", str(work), "--seed", "1"]) == 0
    before = read_csv(work / "trials.csv")
    _downgrade(work)
    assert [t.intermediate_values for t in _study_db(work).trials] == [{}, {}]
    assert main(["local", str(job), "--workdir", str(work), "--resume", "--max-trials", "3"]) == 0
    assert (
        "was upgraded: measurements are now Optuna intermediate values" in capsys.readouterr().out
    )
    stored = _study_db(work)
    assert [t.number for t in stored.trials] == [0, 1, 2]
    assert [sorted(t.intermediate_values) for t in stored.trials] == [[1, 2]] * 3
    after = read_csv(work / "trials.csv")
    assert after[:2] == before  # nothing lost, nothing counted twice
    assert [r["trial_id"] for r in after] == ["1", "2", "3"]
    assert len([e for e in read_log(tmp_path) if e["event"] == "start"]) == 3
    assert sys.modules.get("optuna") is not None


def _with_scheduling(job: Path, scheduling: dict[str, object]) -> Path:
    spec = yaml.safe_load(job.read_text())
    spec["trialJobSpec"]["scheduling"] = scheduling
    job.write_text(yaml.safe_dump(spec))
    return job


def test_a_trial_past_its_scheduling_timeout_is_stopped_and_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], args=["steps=200", "sleep=0.5"], max_trials=1)
    _with_scheduling(job, {"timeout": "3s", "restartJobOnWorkerRestart": True})
    assert main(["local", str(job), "--workdir", str(tmp_path / "w")]) == 0
    (row,) = read_csv(tmp_path / "w" / "trials.csv")
    assert row["state"] == "FAILED"
    out = capsys.readouterr().out
    assert "ran past trialJobSpec.scheduling.timeout (3 s) and was stopped" in out
    assert (
        "not rehearsed here: trialJobSpec.scheduling.restartJobOnWorkerRestart — "
        "local never restarts a trial's process"
    ) in out
    assert out.count("not rehearsed here: ") == 2  # and machineSpec.machineType, each once
    assert [e["event"] for e in read_log(tmp_path)] in ([], ["start"])  # never ran to its end


def test_a_malformed_scheduling_timeout_is_refused_with_the_fix(tmp_path: Path) -> None:
    job = _with_scheduling(write_job(tmp_path, [X], max_trials=1), {"timeout": "4 minutes"})
    with pytest.raises(ConfigurationError, match=r"scheduling.timeout must be .* got '4 minutes'"):
        Study(load_job(job), tmp_path / "w")


def test_a_burst_of_16_trials_at_once_is_recorded_without_lag(tmp_path: Path) -> None:
    """Starting 16 trials one after another never delays recording those that end (issue 15).

    Each trial's recorded seconds (start to exit, as the runner saw them) exceeds
    its own run (from the app's first line to its last log entry) only by the
    interpreter's start and exit and the runner's polling: a correctness bound on
    recording lag, generous for a loaded 2-core machine, not a speed target.
    """
    job = write_job(tmp_path, [X], args=["steps=1", "sleep=1.0"], max_trials=16, parallel=16)
    results = Study(load_job(job), tmp_path / "w", seed=0).run()
    log = read_log(tmp_path)
    began = {e["trial"]: e["began"] for e in log if e["event"] == "start"}
    ended = {e["trial"]: e["time"] for e in log if e["event"] == "end"}
    assert sorted(began, key=int) == sorted(ended, key=int) == [str(i) for i in range(1, 17)]
    assert [t.state for t in results.trials] == ["SUCCEEDED"] * 16
    excess = {
        t.trial_id: t.seconds - (ended[t.trial_id] - began[t.trial_id]) for t in results.trials
    }
    assert all(t.seconds is not None and t.seconds > 1.0 for t in results.trials)
    assert {k: round(v, 2) for k, v in excess.items() if not 0.0 < v < 1.5} == {}
