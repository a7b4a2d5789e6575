"""Benchmark: start-up of a 2-replica trial against a single-replica trial of the same app.

Run: ``python benchmarks/bench_multinode.py`` (about two minutes on 2 cores).

The app is the tests' template-shaped multinode app
(``tests/apps/multinode_app``: Hydra, ``@vertex_compatible``, ``HypertuneCallback``,
``VertexEnvironment``, DDP over gloo on CPU, 2 epochs). Each trial's replicas
are started by hand with the environment Vertex AI gives them, as in
``tests/test_environment.py``. For each layout it prints, as the median over
``REPEATS`` trials:

- start-up: from starting the replicas to ``on_train_start`` (imports, Hydra,
  the process-group rendezvous; the rendezvous is a barrier, so every process
  reaches ``on_train_start`` at the same moment and the last one is taken);
- wall: from start to the last replica's exit.

On a 2-core machine the replicas share the cores, so the 2-replica start-up is
mostly two concurrent ``import torch, lightning``; on Vertex each replica has
its own machine.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "apps" / "multinode_app"))

import launch  # noqa: E402

REPEATS = 3
LAYOUTS = (("1 replica x 1 process", 1), ("2 replicas x 1 process", 2))


def one_trial(folder: Path, nodes: int) -> tuple[float, float]:
    records = folder / "records"
    records.mkdir(parents=True)
    began = time.time()
    replicas = launch.start_trial(folder, nodes=nodes, records=records)
    if not launch.wait(replicas, timeout=600):
        raise SystemExit(f"a {nodes}-replica trial did not finish in 600 s")
    wall = time.time() - began
    for replica in replicas:
        if replica.process.returncode != 0:
            raise SystemExit(f"{replica.name} failed:\n{replica.stderr_tail()}")
    starts = [json.loads(p.read_text())["time"] for p in records.glob("process-*.start.json")]
    if len(starts) != nodes:
        raise SystemExit(f"expected {nodes} processes to start training, saw {len(starts)}")
    return max(starts) - began, wall


def main() -> None:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in LAYOUTS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(REPEATS):  # interleaved, so machine load affects both alike
            for name, nodes in LAYOUTS:
                results[name].append(one_trial(Path(tmp) / f"{nodes}-{repeat}", nodes))
    print(f"median of {REPEATS} trials each (seconds)")
    print(f"{'layout':<26}{'start-up':>10}{'wall':>8}")
    medians = {}
    for name, runs in results.items():
        startup, wall = (statistics.median(column) for column in zip(*runs))
        medians[name] = (startup, wall)
        print(f"{name:<26}{startup:>10.2f}{wall:>8.2f}")
    (one, _), (two, _) = LAYOUTS
    extra = medians[two][0] - medians[one][0]
    ratio = medians[two][0] / medians[one][0]
    print(f"2-replica start-up: {extra:+.2f} s ({ratio:.2f}x) against 1 replica")


DIGITS_JOB = Path(__file__).resolve().parent.parent / "examples" / "digits" / "job-multinode.yaml"


def local_trial(folder: Path, nodes: int) -> float:
    """Wall time of ``vertex-hydra local`` running one trial of the digits multinode job.

    ``nodes`` 1 drops workerPoolSpecs[1] and sets ``trainer.num_nodes=1``, so the
    same app and the same parameters run on one replica.
    """
    import subprocess

    import yaml

    job = yaml.safe_load(DIGITS_JOB.read_text())
    job["maxTrialCount"] = 1
    pools = job["trialJobSpec"]["workerPoolSpecs"]
    if nodes == 1:
        del pools[1:]
        pools[0]["containerSpec"]["args"] = [
            *pools[0]["containerSpec"]["args"],
            "trainer.num_nodes=1",
        ]
    path = DIGITS_JOB.parent / f".bench-multinode-{nodes}-{folder.name}.yaml"
    path.write_text(yaml.safe_dump(job))
    try:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "vertex_hydra", "local", str(path), "--workdir", str(folder),
             "--seed", "0"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        return time.perf_counter() - start
    finally:
        path.unlink(missing_ok=True)


def main_local() -> None:
    """The same comparison through ``vertex-hydra local`` (one trial of the digits example)."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(2):
            for nodes in (1, 2):
                walls[nodes].append(local_trial(Path(tmp) / f"local-{nodes}-{repeat}", nodes))
    one, two = (statistics.median(walls[n]) for n in (1, 2))
    print("vertex-hydra local, one digits trial (median of 2, seconds):")
    print(
        f"  1 replica: {one:.2f}   2 replicas: {two:.2f}   ({two - one:+.2f} s, {two / one:.2f}x)"
    )


if __name__ == "__main__":
    main()
    main_local()
