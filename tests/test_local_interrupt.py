"""Interrupt the real ``vertex-hydra local`` process with a real signal, then resume it.

Each trial of the fixture app logs a ``start`` and an ``end`` line (with its
trial id, pid and parameters), so the log proves that no finished trial ran
again, that every trial cut short re-ran with the same parameters, and that no
trial process outlived the interrupted runner.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from local_support import read_csv, read_log, write_job

from vertex_hydra.cli import main
from vertex_hydra.jobspec import load_job
from vertex_hydra.local import Study, StudyObserver

pytestmark = pytest.mark.slow

X = {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}}
N = {"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 9}}


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie does not (an orphan's reaper may be slow, or absent in a container)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _run(job: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vertex_hydra",
            "local",
            str(job),
            "--workdir",
            str(job.parent / "w"),
            "--seed",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the study"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_interrupt_then_resume_loses_nothing_and_reruns_nothing(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    job = write_job(
        tmp_path,
        [X, N],
        args=["steps=6", "sleep=0.15"],
        max_trials=6,
        parallel=2,
        algorithm="RANDOM_SEARCH",
    )
    runner = _run(job)
    # Interrupt once two trials have finished and two are running.
    _wait_for(
        lambda: (
            sum(e["event"] == "end" for e in read_log(tmp_path)) >= 2
            and sum(e["event"] == "start" for e in read_log(tmp_path)) >= 4
        )
    )
    runner.send_signal(sig)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == status, err
    assert f"Interrupted by {sig.name}" in out and "--resume" in out
    before = read_log(tmp_path)
    ended = {e["trial"]: (e["x"], e["n"]) for e in before if e["event"] == "end"}
    cut = {
        e["trial"]: (e["x"], e["n"]) for e in before if e["event"] == "start"
    }.keys() - ended.keys()
    assert len(ended) >= 2 and cut, "the signal must land while trials run"
    assert not any(_alive(e["pid"]) for e in before)  # every trial's process group was stopped
    for tid in cut:
        assert f"trial {tid} interrupted" in out

    resumed = _run(job, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    after = read_log(tmp_path)[len(before) :]
    rerun = [(e["x"], e["n"]) for e in after if e["event"] == "start"]
    # No finished trial ran again; each trial cut short ran again with its parameters.
    assert not {e["trial"] for e in after} & ended.keys()
    cut_params = sorted(
        (e["x"], e["n"]) for e in before if e["trial"] in cut and e["event"] == "start"
    )
    assert sorted(rerun[: len(cut)]) == cut_params
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert len(rows) == 6 and {r["state"] for r in rows} == {"SUCCEEDED"}
    by_id = {r["trial_id"]: r for r in rows}
    for tid, (x, n) in ended.items():  # nothing finished before the signal was lost
        assert (float(by_id[tid]["x"]), int(by_id[tid]["n"])) == (x, n)
    assert not cut & by_id.keys()  # interrupted trials are not results; their re-runs are
    finished_params = sorted((e["x"], e["n"]) for e in before + after if e["event"] == "end")
    assert finished_params == sorted((float(r["x"]), int(r["n"])) for r in rows)


def test_resume_after_the_runner_was_killed(tmp_path: Path) -> None:
    job = write_job(
        tmp_path,
        [X],
        args=["steps=5", "sleep=0.2"],
        max_trials=3,
        parallel=1,
        algorithm="RANDOM_SEARCH",
    )
    runner = _run(job)
    _wait_for(lambda: any(e["event"] == "start" for e in read_log(tmp_path)))
    runner.kill()  # no chance to clean up: the store keeps trial 1 RUNNING
    runner.communicate(timeout=30)
    (started,) = read_log(tmp_path)
    _wait_for(lambda: not _alive(started["pid"]), timeout=10)  # the study's Watchdog ends it
    resumed = _run(job, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "trials 1 were cut off by the last run's end: they run again under new ids" in out
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [r["trial_id"] for r in rows] == ["2", "3", "4"]
    assert float(rows[0]["x"]) == started["x"]


def test_a_second_runner_on_the_same_workdir_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], args=["steps=10", "sleep=0.2"], max_trials=1)
    runner = _run(job)
    try:
        _wait_for(lambda: any(e["event"] == "start" for e in read_log(tmp_path)))
        assert main(["local", str(job), "--workdir", str(tmp_path / "w"), "--resume"]) == 2
        assert f"another 'vertex-hydra local' (pid {runner.pid}) is running the study in" in (
            capsys.readouterr().err
        )
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=60)


def test_a_signal_while_a_trial_starts_stops_that_trial_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The signal arrives in the very call that announces the trial's start."""

    class SignalAtStart(StudyObserver):
        def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # handled right here, in this frame

    job = write_job(tmp_path, [X], args=["steps=40", "sleep=0.5"], max_trials=2)
    study = Study(load_job(job), tmp_path / "w")
    results = study.run(SignalAtStart())
    assert (study.end_reason, study.signal, results.trials) == ("interrupted", "SIGINT", [])
    log = read_log(tmp_path)
    assert [e["event"] for e in log] in ([], ["start"])  # stopped, not run to its end (20 s)
    assert not any(_alive(e["pid"]) for e in log)
    # Through the command: the same end, said in words, with the exit status of SIGINT.
    job = write_job(tmp_path / "cli", [X], args=["steps=40", "sleep=0.5"], max_trials=2)
    runner = _run(job)
    _wait_for(lambda: any(e["event"] == "start" for e in read_log(tmp_path / "cli")))
    runner.send_signal(signal.SIGINT)
    out, _ = runner.communicate(timeout=60)
    assert runner.returncode == 130
    assert "trial 1 interrupted after" in out and "Interrupted by SIGINT: 0 finished trials" in out


def test_a_trial_that_ended_before_the_signal_is_recorded_not_rerun(tmp_path: Path) -> None:
    """Ctrl-C just after a trial's exit, before the runner noticed it: it finished, keep it."""

    class SignalAfterTheEnd(StudyObserver):
        def trial_started(self, trial_id: str, parameters: dict[str, float | str]) -> None:
            # The trial runs ~0.3 s: wait for its process to exit, then signal.
            _wait_for(
                lambda: (
                    not any(_alive(e["pid"]) for e in read_log(tmp_path))
                    and any(e["event"] == "end" for e in read_log(tmp_path))
                )
            )
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGINT)

    job = write_job(tmp_path, [X], args=["steps=1", "sleep=0.1"], max_trials=3)
    study = Study(load_job(job), tmp_path / "w")
    results = study.run(SignalAfterTheEnd())
    assert study.end_reason == "interrupted"
    assert [(t.trial_id, t.state) for t in results.trials] == [("1", "SUCCEEDED")]
    assert len(read_log(tmp_path)) == 2  # one start, one end: no second trial started
