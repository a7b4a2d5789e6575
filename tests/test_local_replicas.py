"""``vertex-hydra local`` runs a trial of several replicas as Vertex AI does: real processes.

The template-shaped multinode app (``tests/apps/multinode_app``) trains one DDP
world over gloo across the chief (``workerPoolSpecs[0]``) and a worker
(``workerPoolSpecs[1]``), each its own process started by the real CLI. Every
process records where Lightning placed it, and every process the test starts
carries a mark in its environment, so that ``/proc`` tells whether one outlived
the study.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("torch")

from test_ddp import assert_done_when

from vertex_hydra._compat import available_namespaces

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "apps" / "multinode_app"
TIMEOUT = 400  # seconds for a whole study on a busy 2-core machine
LR = {"parameterId": "model.lr", "doubleValueSpec": {"minValue": 0.01, "maxValue": 0.1}}
CRASH = "import sys, time; time.sleep(1); sys.exit('worker boom: no data on this replica')"


def _pool(command: list[str], args: list[str], replicas: int = 1) -> dict[str, Any]:
    return {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": replicas,
        "containerSpec": {"imageUri": "img", "command": command, "args": args},
    }


def write_job(folder: Path, worker: dict[str, Any] | None = None, **top: Any) -> Path:
    """A job of the multinode app: the chief and one worker, the same command, 2 epochs."""
    args = ["trainer.max_epochs=2"]
    chief = _pool(["python", str(APP / "train.py")], args)
    job = {
        "displayName": "multinode",
        "maxTrialCount": 1,
        "parallelTrialCount": 1,
        "studySpec": {
            "metrics": [{"metricId": "val/acc", "goal": "MAXIMIZE"}],
            "parameters": [LR],
        },
        "trialJobSpec": {"workerPoolSpecs": [chief, worker or chief]},
        **top,
    }
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    return path


def _env(tmp_path: Path, namespace: str) -> dict[str, str]:
    records = tmp_path / "records"
    records.mkdir(exist_ok=True)
    return dict(
        os.environ,
        APP_RECORD_DIR=str(records),
        MULTINODE_APP_LIGHTNING=namespace,
        OMP_NUM_THREADS="1",
        REPLICAS_TEST_MARK=str(tmp_path),
    )


def _local(job: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "vertex_hydra", "local", str(job)]
    argv += ["--workdir", str(job.parent / "w"), "--seed", "0", *extra]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _marked(tmp_path: Path) -> list[int]:
    """Pids of live processes (not zombies) started by this test: their environment has the mark."""
    mark = f"REPLICAS_TEST_MARK={tmp_path}".encode()
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark in (proc / "environ").read_bytes().split(b"\0"):
                if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _records(tmp_path: Path, event: str) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text()) for p in sorted((tmp_path / "records").glob(f"*.{event}.json"))
    ]


def _csv(workdir: Path) -> list[dict[str, str]]:
    with (workdir / "trials.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("namespace", available_namespaces())
def test_a_two_replica_trial_trains_one_world_and_records_the_chiefs_reports(
    namespace: str, tmp_path: Path
) -> None:
    job = write_job(tmp_path)
    run = _local(job, _env(tmp_path, namespace))
    out, _ = run.communicate(timeout=TIMEOUT)
    assert run.returncode == 0, out
    ends = _records(tmp_path, "end")
    assert sorted(r["global_rank"] for r in ends) == [0, 1]
    assert sorted(r["node_rank"] for r in ends) == [0, 1]
    assert {r["world_size"] for r in ends} == {2}
    assert {r["environment"] for r in ends} == {"VertexEnvironment"}
    # Each replica ran its pool's command with the trial's parameter, as Vertex passes it.
    assert all(any("model.lr=" in a for a in r["argv"]) for r in ends)
    trial = tmp_path / "w" / "trials" / "1"
    chief_file = trial / "workerpool0-0" / "output.metrics"
    lines = [json.loads(line) for line in chief_file.read_text().splitlines()]
    assert_done_when(lines, epochs=2, trial="1")
    # 192 samples / 2 processes / batch 16 = 6 steps per epoch: one line each, then the final.
    assert [int(line["global_step"]) for line in lines[:-1]] == [6, 12]
    assert not (trial / "workerpool1-0" / "output.metrics").exists()
    (row,) = _csv(tmp_path / "w")
    assert row["state"] == "SUCCEEDED"
    assert float(row["value"]) == float(lines[-1]["val/acc"])
    assert not _marked(tmp_path)


def test_a_crashing_worker_fails_the_trial_with_its_stderr_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    job = write_job(tmp_path, worker=_pool(["python", "-c", CRASH], []))
    run = _local(job, _env(tmp_path, available_namespaces()[0]))
    out, _ = run.communicate(timeout=TIMEOUT)
    (row,) = _csv(tmp_path / "w")
    assert row["state"] == "FAILED", out
    assert "replica workerpool1-0: exit status 1" in out
    assert "worker boom: no data on this replica" in out
    # The chief, left waiting for its worker at the rendezvous, was stopped with it.
    assert not _records(tmp_path, "end")
    assert not _marked(tmp_path)


def test_sigint_mid_trial_stops_every_replica_and_resume_runs_the_trial_again(
    tmp_path: Path,
) -> None:
    job = write_job(tmp_path)
    env = _env(tmp_path, available_namespaces()[0])
    run = _local(job, env)
    deadline = time.monotonic() + TIMEOUT
    while len(_records(tmp_path, "start")) < 2:  # both replicas are training
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[0]
        time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 130, out
    assert not _marked(tmp_path)
    # The trial is one unit: cut short, recorded as no result, to re-run on resume.
    assert not (tmp_path / "w" / "trials.csv").exists() or not _csv(tmp_path / "w")
    for record in _records(tmp_path, "end"):
        (tmp_path / "records" / f"process-{record['pid']}.end.json").unlink()
    resumed = _local(job, env, "--resume")
    out, _ = resumed.communicate(timeout=TIMEOUT)
    assert resumed.returncode == 0, out
    (row,) = _csv(tmp_path / "w")
    assert (row["trial_id"], row["state"]) == ("2", "SUCCEEDED")
    assert sorted(r["global_rank"] for r in _records(tmp_path, "end")) == [0, 1]
    assert not _marked(tmp_path)
