"""``VertexEnvironment``: recorded ``CLUSTER_SPEC``s, both namespaces, and real multi-replica DDP.

The unit tests read the layouts Vertex AI gives each replica
(:mod:`vertex_hydra.cluster`; shape as in VERTEX_CONTRACT.md section 8) and compare the single-replica case with
Lightning's own ``LightningEnvironment``. The slow tests start the replicas of
one trial by hand, each with the environment Vertex gives it
(``tests/apps/multinode_app/launch.py``), and train with DDP over gloo on CPU.
Lightning's default environment on the same replicas is shown to fail, so
these tests can fail.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from apps.multinode_app import launch
from test_ddp import assert_done_when
from test_imports import _heavy_modules_after_import

from vertex_hydra import ConfigurationError
from vertex_hydra._compat import available_namespaces
from vertex_hydra.cluster import VertexCluster, read_cluster
from vertex_hydra.environment import VertexEnvironment

NAMESPACES = available_namespaces()
FABRIC = {"lightning.pytorch": "lightning.fabric", "pytorch_lightning": "lightning_fabric"}

CHIEF = "cmle-training-workerpool0-ab12cd34ef-0:2222"
WORKERS = [f"cmle-training-workerpool1-ab12cd34ef-{i}:2222" for i in range(3)]
REDUCERS = ["cmle-training-workerpool2-ab12cd34ef-0:2222"]
EVALUATORS = ["cmle-training-workerpool3-ab12cd34ef-0:2222"]


def spec(task: str, index: int, **pools: list[str]) -> str:
    """A CLUSTER_SPEC as Vertex AI writes it for replica ``index`` of pool ``task``."""
    cluster = {"workerpool0": [CHIEF], **pools}
    return json.dumps(
        {
            "cluster": cluster,
            "environment": "cloud",
            "task": {"type": task, "index": index, "trial": "3"},
            "job": '{"worker_pool_specs": "..."}',
        }
    )


def cluster(nodes: int, node_rank: int | None, task: str, source: str = "CLUSTER_SPEC") -> Any:
    host, port = CHIEF.split(":")
    return VertexCluster(nodes, node_rank, task, host, int(port), source)


ALL_POOLS = {"workerpool1": WORKERS, "workerpool2": REDUCERS, "workerpool3": EVALUATORS}

LAYOUTS = [
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool0", 0, workerpool1=WORKERS[:1])},
        cluster(2, 0, "workerpool0[0]"),
        id="chief",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool1", 0, workerpool1=WORKERS[:1])},
        cluster(2, 1, "workerpool1[0]"),
        id="worker-0",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool1", 2, workerpool1=WORKERS)},
        cluster(4, 3, "workerpool1[2]"),
        id="worker-2",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool1", 1, **ALL_POOLS)},
        cluster(4, 2, "workerpool1[1]"),
        id="worker-with-reduction-server-and-evaluator",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool0", 0, **ALL_POOLS)},
        cluster(4, 0, "workerpool0[0]"),
        id="chief-with-reduction-server-and-evaluator",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool3", 0, **ALL_POOLS)},
        cluster(4, None, "workerpool3[0]"),
        id="evaluator",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool2", 0, **ALL_POOLS)},
        cluster(4, None, "workerpool2[0]"),
        id="reduction-server",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool0", 0)},
        cluster(1, 0, "workerpool0[0]"),
        id="single-replica",
    ),
    pytest.param(
        {
            "TF_CONFIG": json.dumps(
                {
                    "cluster": {"chief": [CHIEF], "worker": WORKERS[:2], "ps": REDUCERS},
                    "task": {"type": "worker", "index": 1},
                    "environment": "cloud",
                }
            )
        },
        cluster(3, 2, "worker[1]", "TF_CONFIG"),
        id="tf-config-only",
    ),
    pytest.param(
        {"CLUSTER_SPEC": spec("workerpool1", 0, workerpool1=WORKERS[:1]), "TF_CONFIG": "{"},
        cluster(2, 1, "workerpool1[0]"),
        id="cluster-spec-wins-over-tf-config",
    ),
    pytest.param(
        {
            "CLUSTER_SPEC": spec("workerpool1", 1, workerpool1=WORKERS[:2]),
            # Vertex's PyTorch variables, and what Lightning's launcher later
            # writes over them: the layout still comes from CLUSTER_SPEC.
            "WORLD_SIZE": "6",
            "RANK": "0",
            "NODE_RANK": "2",
            "LOCAL_RANK": "1",
        },
        cluster(3, 2, "workerpool1[1]"),
        id="cluster-spec-wins-over-pytorch-variables",
    ),
    pytest.param(
        {"MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "3333", "WORLD_SIZE": "3", "RANK": "2"},
        VertexCluster(3, 2, "RANK=2", "10.0.0.2", 3333, "WORLD_SIZE"),
        id="pytorch-variables-only",
    ),
    pytest.param(
        {"MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "3333", "WORLD_SIZE": "4", "RANK": "1"}
        | {"LOCAL_RANK": "1", "NODE_RANK": "0"},
        None,
        id="pytorch-variables-after-a-launcher",
    ),
    pytest.param({"WORLD_SIZE": "1", "RANK": "0", "MASTER_ADDR": "x"}, None, id="world-of-one"),
    pytest.param({}, None, id="no-cluster"),
]


@pytest.mark.parametrize(("environ", "expected"), LAYOUTS)
def test_read_cluster_over_recorded_layouts(environ: dict[str, str], expected: Any) -> None:
    assert read_cluster(environ) == expected


ERRORS = [
    ({"CLUSTER_SPEC": '{"cluster": {"workerpool0": ['}, r"CLUSTER_SPEC='.*': not valid JSON"),
    ({"TF_CONFIG": "chief"}, r"TF_CONFIG='chief': not valid JSON"),
    ({"CLUSTER_SPEC": "[1, 2]"}, r'expected a JSON object with a "cluster" mapping'),
    ({"CLUSTER_SPEC": '{"task": {}}'}, r'expected a JSON object with a "cluster" mapping'),
    (
        {"CLUSTER_SPEC": '{"cluster": {"workerpool0": "h:1"}, "task": {"type": "workerpool0"}}'},
        r'"cluster.workerpool0" must be a list of "host:port" strings',
    ),
    (
        {"CLUSTER_SPEC": json.dumps({"cluster": {"workerpool1": WORKERS}})},
        r"workerpool0 \(the chief\) lists 0 replicas, not 1",
    ),
    (
        {"CLUSTER_SPEC": json.dumps({"cluster": {"workerpool0": [CHIEF, CHIEF]}})},
        r"workerpool0 \(the chief\) lists 2 replicas, not 1",
    ),
    (
        {"CLUSTER_SPEC": json.dumps({"cluster": {"workerpool0": [CHIEF], "workerpool1": WORKERS}})},
        r'expected "task": \{"type": ..., "index": ...\}',
    ),
    (
        {"CLUSTER_SPEC": spec("workerpool1", 3, workerpool1=WORKERS)},
        r"task workerpool1\[3\] is not in its pool's list",
    ),
    (
        {"CLUSTER_SPEC": spec("workerpool0", 1, workerpool1=WORKERS)},
        r"task workerpool0\[1\] is not in its pool's list",
    ),
    (
        {
            "CLUSTER_SPEC": json.dumps(
                {
                    "cluster": {"workerpool0": ["chief"], "workerpool1": ["w"]},
                    "task": {"type": "workerpool0", "index": 0},
                }
            )
        },
        r"the chief's entry 'chief' is not 'host:port'",
    ),
    (
        {"WORLD_SIZE": "two", "RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"},
        r"WORLD_SIZE='two', RANK='1', MASTER_ADDR='h', MASTER_PORT='1': expected whole numbers",
    ),
    (
        {"WORLD_SIZE": "2", "RANK": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"},
        r"the node rank must be below the number of nodes\. Fix: set RANK to one of 0\.\.1",
    ),
]


@pytest.mark.parametrize(("environ", "match"), ERRORS)
def test_a_malformed_layout_is_one_sentence_with_a_fix(environ: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        read_cluster(environ)
    message = str(caught.value)
    assert "Fix: " in message and "\n" not in message
    # No parser traceback rides along: nothing chained, or the JSON error suppressed.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_chief_entry_without_port_takes_master_port() -> None:
    text = json.dumps(
        {
            "cluster": {"workerpool0": ["chief-host"], "workerpool1": ["w"]},
            "task": {"type": "workerpool1", "index": 0},
        }
    )
    found = read_cluster({"CLUSTER_SPEC": text, "MASTER_PORT": "3333"})
    assert found is not None and (found.main_address, found.main_port) == ("chief-host", 3333)


def test_reading_the_layout_imports_no_heavy_package() -> None:
    # check and local can read a replica's layout without torch or lightning.
    assert _heavy_modules_after_import("vertex_hydra.cluster") == []


def _use(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    for name in (*launch.DISTRIBUTED_VARIABLES, "STANDALONE_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_one_class_is_a_cluster_environment_of_every_namespace(namespace: str) -> None:
    fabric = importlib.import_module(f"{FABRIC[namespace]}.plugins.environments")
    assert isinstance(VertexEnvironment(), fabric.ClusterEnvironment)
    plugins = importlib.import_module(f"{namespace}.plugins.environments")
    assert isinstance(VertexEnvironment(), plugins.ClusterEnvironment)


def test_hydra_instantiates_it_from_one_config_line() -> None:
    from hydra.utils import instantiate

    made = instantiate({"_target_": "vertex_hydra.VertexEnvironment"})
    assert type(made) is VertexEnvironment


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_trainer_on_worker_2_of_4_nodes_takes_its_node_rank_and_the_chiefs_address(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, {"CLUSTER_SPEC": spec("workerpool1", 2, workerpool1=WORKERS)})
    L = importlib.import_module(namespace)
    env = VertexEnvironment()
    trainer = L.Trainer(
        accelerator="cpu", strategy="ddp", num_nodes=4, devices=2, plugins=[env], logger=False
    )
    assert trainer.strategy.cluster_environment is env
    assert (trainer.node_rank, trainer.num_nodes, trainer.num_devices) == (3, 4, 2)
    assert (env.main_address, env.main_port) == ("cmle-training-workerpool0-ab12cd34ef-0", 2222)
    assert env.creates_processes_externally is False  # Lightning's launcher starts the devices
    env.validate_settings(num_devices=2, num_nodes=4)
    # What the DDP strategy does with it (set_world_ranks), on each local rank:
    ranks = []
    for local_rank in (0, 1):
        monkeypatch.setenv("LOCAL_RANK", str(local_rank))
        ranks.append(env.node_rank() * 2 + env.local_rank())
    assert ranks == [6, 7]
    assert env.creates_processes_externally is True  # once LOCAL_RANK is set, as Lightning's
    assert "node 3 of 4, workerpool1[2]" in repr(env)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_num_nodes_unlike_the_replicas_stops_fit_before_any_process_starts(
    namespace: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _use(monkeypatch, {"CLUSTER_SPEC": spec("workerpool0", 0, workerpool1=WORKERS)})
    L = importlib.import_module(namespace)
    demos = importlib.import_module(f"{namespace}.demos.boring_classes")
    trainer = L.Trainer(
        accelerator="cpu",
        strategy="ddp",
        num_nodes=2,
        devices=1,
        plugins=[VertexEnvironment()],
        logger=False,
        default_root_dir=tmp_path,
    )
    with pytest.raises(
        ConfigurationError,
        match=r"^VertexEnvironment: trainer\.num_nodes=2, but this trial has 4 replica\(s\) in "
        r"workerpool0 and workerpool1 \(from CLUSTER_SPEC\)\. Fix: set trainer\.num_nodes=4, or "
        r"give the job workerPoolSpecs\[1\] replicaCount 1\.$",
    ):
        trainer.fit(demos.BoringModel())
    assert trainer.strategy.launcher.procs == []


@pytest.mark.parametrize(
    ("environ", "num_nodes", "match"),
    [
        (
            {"CLUSTER_SPEC": spec("workerpool0", 0)},
            2,
            r"trainer\.num_nodes=2, but this trial has 1 replica\(s\) .* Fix: set "
            r"trainer\.num_nodes=1, or give the job workerPoolSpecs\[1\] replicaCount 1\.",
        ),
        (
            {"CLUSTER_SPEC": spec("workerpool1", 0, workerpool1=WORKERS[:1])},
            1,
            r"trainer\.num_nodes=1, but this trial has 2 replica\(s\) .* Fix: set "
            r"trainer\.num_nodes=2, or give the job no workerPoolSpecs\[1\]\.",
        ),
        (
            {"CLUSTER_SPEC": spec("workerpool3", 0, **ALL_POOLS)},
            4,
            r"trainer\.num_nodes=4, but this replica is workerpool3\[0\], outside workerpool0 "
            r"and workerpool1, .* Fix: give that pool its own args with trainer\.num_nodes=1",
        ),
        (
            {"WORLD_SIZE": "3", "RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"},
            2,
            r"trainer\.num_nodes=2, but this trial has 3 replica\(s\) .*\(from WORLD_SIZE\)",
        ),
    ],
)
def test_validate_settings_names_both_numbers(
    environ: dict[str, str], num_nodes: int, match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, environ)
    with pytest.raises(ConfigurationError, match=match):
        VertexEnvironment().validate_settings(num_devices=1, num_nodes=num_nodes)


SINGLE = [
    {"STANDALONE_PORT": "4141"},  # Lightning's find_free_network_port honours it
    {"MASTER_ADDR": "10.1.2.3", "MASTER_PORT": "29500"},
    {"NODE_RANK": "1", "LOCAL_RANK": "1", "MASTER_PORT": "29501"},
    {"GROUP_RANK": "2", "STANDALONE_PORT": "4242"},
    {"CLUSTER_SPEC": spec("workerpool0", 0), "MASTER_ADDR": "10.9.9.9", "MASTER_PORT": "2222"},
    {"TF_CONFIG": json.dumps({"cluster": {"chief": [CHIEF]}}), "STANDALONE_PORT": "4343"},
]


def _observed(env: Any) -> tuple[Any, ...]:
    env.set_world_size(3)
    env.set_global_rank(0)
    return (
        env.creates_processes_externally,
        env.main_address,
        env.main_port,
        env.node_rank(),
        env.local_rank(),
        env.world_size(),
        env.global_rank(),
    )


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("environ", SINGLE, ids=range(len(SINGLE)))
def test_a_single_replica_behaves_like_lightnings_default(
    namespace: str, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, environ)
    default = importlib.import_module(f"{namespace}.plugins.environments").LightningEnvironment
    assert _observed(VertexEnvironment()) == _observed(default())
    assert VertexEnvironment.detect() is False
    monkeypatch.setenv("WORLD_SIZE", "3")
    VertexEnvironment().teardown()  # as LightningEnvironment's: drops WORLD_SIZE
    assert "WORLD_SIZE" not in os.environ


def test_an_evaluator_trains_alone_as_lightnings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, {"CLUSTER_SPEC": spec("workerpool3", 0, **ALL_POOLS), "STANDALONE_PORT": "7"})
    env = VertexEnvironment()
    env.validate_settings(num_devices=1, num_nodes=1)
    default = importlib.import_module(f"{FABRIC[NAMESPACES[0]]}.plugins.environments")
    assert _observed(env) == _observed(default.LightningEnvironment())
    assert _observed(env)[1:4] == ("127.0.0.1", 7, 0)


def test_detect_needs_more_than_one_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, {"CLUSTER_SPEC": spec("workerpool1", 0, workerpool1=WORKERS[:1])})
    assert VertexEnvironment.detect() is True
    _use(monkeypatch, {"CLUSTER_SPEC": "{not json"})
    assert VertexEnvironment.detect() is False
    with pytest.raises(ConfigurationError, match="CLUSTER_SPEC='{not json': not valid JSON"):
        VertexEnvironment()


# --- real replicas ------------------------------------------------------------------------

TIMEOUT = 400  # seconds for a whole trial on a busy 2-core machine


def _records(folder: Path, event: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"process-*.{event}.json"))]


def _run(tmp_path: Path, namespace: str, nodes: int, overrides: list[str]) -> Any:
    records = tmp_path / "records"
    records.mkdir()
    replicas = launch.start_trial(
        tmp_path, nodes=nodes, overrides=overrides, namespace=namespace, records=records
    )
    completed = launch.wait(replicas, TIMEOUT, grace=30)
    return replicas, completed, records


def _assert_trained(
    tmp_path: Path, namespace: str, devices: int, steps: list[int]
) -> list[dict[str, Any]]:
    replicas, completed, records = _run(tmp_path, namespace, 2, [f"trainer.devices={devices}"])
    assert completed, "the trial did not finish in time"
    for replica in replicas:
        assert replica.process.returncode == 0, f"{replica.name}:\n{replica.stderr_tail()}"
    ends = _records(records, "end")
    world = 2 * devices
    assert sorted(r["global_rank"] for r in ends) == list(range(world))
    assert {r["world_size"] for r in ends} == {world}
    assert {r["environment"] for r in ends} == {"VertexEnvironment"}
    # The chief's processes are node 0 and the worker's node 1, each with local ranks 0..devices-1.
    placed = sorted((r["node_rank"], r["local_rank"], r["global_rank"]) for r in ends)
    assert placed == [(n, d, n * devices + d) for n in range(2) for d in range(devices)]
    # Only the chief wrote: one line per epoch plus the final line; the worker wrote no file.
    chief, worker = replicas
    lines = [json.loads(line) for line in chief.metric_file.read_text().splitlines()]
    assert_done_when(lines, epochs=2, trial="1")
    assert [int(line["global_step"]) for line in lines[:-1]] == steps
    assert not worker.metric_file.exists()
    assert not (worker.folder / "hypertune").exists()
    return ends


@pytest.mark.slow
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_two_replicas_train_one_world_and_only_the_chief_reports(
    namespace: str, tmp_path: Path
) -> None:
    # 192 samples / 2 processes / batch 16 = 6 steps per epoch.
    _assert_trained(tmp_path, namespace, devices=1, steps=[6, 12])


@pytest.mark.slow
def test_two_replicas_of_two_devices_make_a_world_of_four(tmp_path: Path) -> None:
    # 192 samples / 4 processes / batch 16 = 3 steps per epoch.
    _assert_trained(tmp_path, NAMESPACES[0], devices=2, steps=[3, 6])


@pytest.mark.slow
def test_lightnings_default_environment_on_the_same_replicas_makes_no_world(
    tmp_path: Path,
) -> None:
    replicas, completed, records = _run(tmp_path, NAMESPACES[0], 2, ["trainer.plugins=null"])
    codes = [replica.process.returncode for replica in replicas]
    # Both replicas believe they are node 0, so both claim global rank 0: one
    # cannot open the chief's port, the other waits for a rank 1 that never comes.
    assert not completed or any(code != 0 for code in codes), codes
    starts = _records(records, "start")
    assert sorted(r["global_rank"] for r in starts) != [0, 1]
    assert all(r["node_rank"] == 0 for r in starts)
    assert not _records(records, "end")
