"""Start one trial of the multinode app as Vertex AI would: one process per replica.

Each replica gets the environment Vertex gives it: ``CLUSTER_SPEC`` (with its
task type, index and the trial id), ``MASTER_ADDR``/``MASTER_PORT`` (the chief's,
here ``127.0.0.1`` and a free port), ``WORLD_SIZE`` (nodes) and ``RANK`` (node
rank), its own ``CLOUD_ML_HP_METRIC_FILE``, and its own Hydra run folder.
Used by ``tests/test_environment.py`` and ``benchmarks/bench_multinode.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from vertex_hydra.local.replicas import DISTRIBUTED_VARIABLES, free_port

APP = Path(__file__).resolve().parent / "train.py"


@dataclass
class Replica:
    """One started replica: its task, process and files."""

    task: str
    index: int
    process: subprocess.Popen[bytes]
    folder: Path
    metric_file: Path
    started: float

    @property
    def name(self) -> str:
        return f"{self.task}-{self.index}"

    def stderr_tail(self, chars: int = 3000) -> str:
        return (self.folder / "stderr.txt").read_text(errors="replace")[-chars:]


def replica_environments(
    nodes: int, trial: str, port: int
) -> list[tuple[str, int, dict[str, str]]]:
    """Return ``(task type, index, Vertex's variables)`` for the chief and ``nodes - 1`` workers."""
    hosts = [f"127.0.0.1:{port}"] + [f"127.0.0.1:{free_port()}" for _ in range(nodes - 1)]
    cluster = {"workerpool0": hosts[:1]}
    if nodes > 1:
        cluster["workerpool1"] = hosts[1:]
    tasks = [("workerpool0", 0)] + [("workerpool1", i) for i in range(nodes - 1)]
    result = []
    for rank, (kind, index) in enumerate(tasks):
        spec = {
            "cluster": cluster,
            "environment": "cloud",
            "task": {"type": kind, "index": index, "trial": trial},
        }
        variables = {
            "CLUSTER_SPEC": json.dumps(spec),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": str(nodes),
            "RANK": str(rank),
        }
        result.append((kind, index, variables))
    return result


def start_trial(
    folder: Path,
    *,
    nodes: int,
    overrides: list[str] = [],  # noqa: B006 (never mutated)
    namespace: str = "lightning.pytorch",
    trial: str = "1",
    tag: str = "val/acc",
    records: Path | None = None,
) -> list[Replica]:
    """Start every replica of one trial; the chief first."""
    port = free_port()
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in DISTRIBUTED_VARIABLES and not k.startswith("CLOUD_ML_")
    }
    replicas = []
    for kind, index, variables in replica_environments(nodes, trial, port):
        where = folder / f"{kind}-{index}"
        where.mkdir(parents=True, exist_ok=True)
        metric_file = where / "hypertune" / "output.metrics"
        env = dict(
            base,
            **variables,
            CLOUD_ML_TRIAL_ID=trial,
            CLOUD_ML_HP_METRIC_TAG=tag,
            CLOUD_ML_HP_METRIC_FILE=str(metric_file),
            MULTINODE_APP_LIGHTNING=namespace,
            OMP_NUM_THREADS="1",
        )
        if records is not None:
            env["APP_RECORD_DIR"] = str(records)
        argv = [sys.executable, str(APP), *overrides, f"trainer.num_nodes={nodes}"]
        argv.append(f"hydra.run.dir={where / 'run'}")
        with open(where / "stdout.txt", "wb") as out, open(where / "stderr.txt", "wb") as err:
            process = subprocess.Popen(
                argv, cwd=APP.parent, env=env, stdout=out, stderr=err, start_new_session=True
            )
        replicas.append(Replica(kind, index, process, where, metric_file, time.monotonic()))
    return replicas


def stop(replicas: list[Replica]) -> None:
    """Kill the process group of every replica that still runs (each replica's own session)."""
    for replica in replicas:
        if replica.process.poll() is None:
            try:
                os.killpg(replica.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for replica in replicas:
        replica.process.wait()


def wait(replicas: list[Replica], timeout: float, grace: float | None = None) -> bool:
    """Wait for every replica; return ``False`` (and kill the rest) on ``timeout``.

    With ``grace``, once one replica has failed the others get ``grace`` more
    seconds, as Vertex stops a trial whose replica failed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        codes = [replica.process.poll() for replica in replicas]
        if all(code is not None for code in codes):
            return True
        if grace is not None and any(code not in (None, 0) for code in codes):
            deadline = min(deadline, time.monotonic() + grace)
            grace = None
        time.sleep(0.2)
    stop(replicas)
    return False
