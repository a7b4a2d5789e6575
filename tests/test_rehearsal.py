"""The table of rehearsed fields covers the real schema, and every other field is named.

The schema is the real ``HyperparameterTuningJob`` message of
``google-cloud-aiplatform``; the job files are the repository's own.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from vertex_hydra.jobspec import read_job_file
from vertex_hydra.jobspec._rehearsal import (
    FIELDS,
    UNKNOWN,
    Unrehearsed,
    field_table,
    unrehearsed_fields,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import gen_rehearsal  # noqa: E402


def _schema_paths() -> set[str]:
    """Every field path of HyperparameterTuningJob, ``[*]`` for lists, messages included."""
    aiplatform = pytest.importorskip("google.cloud.aiplatform_v1.types")
    paths: set[str] = set()

    def walk(descriptor: Any, prefix: str, seen: frozenset[str]) -> None:
        for field in descriptor.fields:
            path = prefix + field.json_name
            paths.add(path)
            message = field.message_type
            if message is None or message.full_name.startswith("google.protobuf"):
                continue
            if message.GetOptions().map_entry or message.full_name in seen:
                continue
            walk(message, path + ("[*]" if field.is_repeated else "") + ".",
                 seen | {message.full_name})  # fmt: skip

    walk(aiplatform.HyperparameterTuningJob.pb().DESCRIPTOR, "", frozenset())
    return paths


def _covered(path: str) -> bool:
    """Whether the table has the path, or an ancestor that stands for all of it."""
    table = {f.path: f for f in FIELDS}
    parts = re.split(r"(?=\.)|(?=\[\*\])", path)
    for end in range(len(parts), 0, -1):
        entry = table.get("".join(parts[:end]))
        if entry is not None and (end == len(parts) or not entry.rehearsed or entry.whole):
            return True
    return False


def test_every_field_of_the_real_schema_is_in_the_table() -> None:
    missing = sorted(p for p in _schema_paths() if not _covered(p))
    assert missing == []


def test_every_path_of_the_table_is_a_field_of_the_real_schema() -> None:
    schema = _schema_paths()
    paths = {re.sub(r"\[[23]\]$", "[*]", f.path).removesuffix("[*]") for f in FIELDS}
    assert sorted(p for p in paths if p not in schema) == []


def test_the_table_says_each_field_once() -> None:
    paths = [f.path for f in FIELDS]
    assert len(paths) == len(set(paths)) == 100


def test_a_field_vertex_hydra_does_not_know_is_named_not_passed() -> None:
    job = {
        "studySpec": {"metrics": [{"metricId": "a", "goal": "MINIMIZE", "weight": 2}]},
        "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i", "shell": "sh"}}]},
        "futureSpec": {},
    }
    assert unrehearsed_fields(job) == [
        Unrehearsed("futureSpec", UNKNOWN),
        Unrehearsed("studySpec.metrics[0].weight", UNKNOWN),
        Unrehearsed("trialJobSpec.workerPoolSpecs[0].containerSpec.shell", UNKNOWN),
    ]
    assert Unrehearsed("futureSpec", UNKNOWN).line() == (
        "not rehearsed here: futureSpec — vertex-hydra does not know this field"
    )


def test_each_unrehearsed_field_of_a_busy_job_is_named_once_with_its_reason() -> None:
    pool: dict[str, Any] = {
        "replicaCount": 1,
        "machineSpec": {"acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 1},
        "diskSpec": {"bootDiskSizeGb": 200},
        "containerSpec": {
            "imageUri": "i",
            "command": ["python", "t.py"],
            "env": [{"name": "VERTEX_HYDRA_STUDY", "value": "{}"}],
        },
    }
    worker = dict(pool, replicaCount=2)
    job = {
        "labels": {"team": "a"},
        "encryptionSpec": {"kmsKeyName": "k"},
        "studySpec": {
            "decayCurveStoppingSpec": {},
            "convexAutomatedStoppingSpec": {"maxStepCount": 9, "learningRateParameterName": "lr"},
            "medianAutomatedStoppingSpec": {"useElapsedDuration": True},
            "observationNoise": "HIGH",
            "studyStoppingConfig": {"maxNumTrials": 3},
            "parameters": [
                {
                    "parameterId": "lr",
                    "doubleValueSpec": {"minValue": 0.1, "maxValue": 1.0, "defaultValue": 0.5},
                }
            ],
        },  # fmt: skip
        "trialJobSpec": {
            "workerPoolSpecs": [pool, worker, {"replicaCount": 1}, {"replicaCount": 1}],
            "scheduling": {
                "timeout": "60s",
                "restartJobOnWorkerRestart": True,
                "disableRetries": False,
            },  # fmt: skip
            "network": "n",
            "serviceAccount": "sa@p.iam.gserviceaccount.com",
            "enableWebAccess": True,
            "enableDashboardAccess": False,
        },
    }
    found = {u.path: u.reason for u in unrehearsed_fields(job)}
    assert list(found) == [
        "encryptionSpec",
        "labels",
        "studySpec.convexAutomatedStoppingSpec.learningRateParameterName",
        "studySpec.decayCurveStoppingSpec",
        "studySpec.observationNoise",
        "studySpec.parameters[0].doubleValueSpec.defaultValue",
        "studySpec.studyStoppingConfig",
        "trialJobSpec.enableWebAccess",
        "trialJobSpec.network",
        "trialJobSpec.scheduling.restartJobOnWorkerRestart",
        "trialJobSpec.serviceAccount",
        "trialJobSpec.workerPoolSpecs[0].diskSpec",
        "trialJobSpec.workerPoolSpecs[0].machineSpec.acceleratorCount",
        "trialJobSpec.workerPoolSpecs[0].machineSpec.acceleratorType",
        "trialJobSpec.workerPoolSpecs[1].diskSpec",
        "trialJobSpec.workerPoolSpecs[1].machineSpec.acceleratorCount",
        "trialJobSpec.workerPoolSpecs[1].machineSpec.acceleratorType",
        "trialJobSpec.workerPoolSpecs[2]",
        "trialJobSpec.workerPoolSpecs[3]",
    ]
    assert found["trialJobSpec.workerPoolSpecs[3]"] == (
        "evaluators: only pools 0 and 1 run and are composed"
    )
    assert found["studySpec.observationNoise"] == (
        "not supported by HyperparameterTuningJob (API reference)"
    )


def test_defaults_empty_pools_and_the_study_env_are_not_named() -> None:
    job = {
        "trialJobSpec": {
            "workerPoolSpecs": [
                {"containerSpec": {"imageUri": "i", "env": [
                    {"name": "VERTEX_HYDRA_STUDY", "value": "{}"}]}},
                {},
                {"replicaCount": 0, "machineSpec": {"machineType": "n1-standard-4"}},
                {},
            ],
            "enableWebAccess": False,
            "network": "",
            "scheduling": {"restartJobOnWorkerRestart": False, "timeout": "60s"},
        },
    }  # fmt: skip
    assert unrehearsed_fields(job) == []
    job["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["env"].append(
        {"name": "DATA", "value": "/d"}
    )
    assert [u.path for u in unrehearsed_fields(job)] == [
        "trialJobSpec.workerPoolSpecs[0].containerSpec.env"
    ]


def test_the_examples_name_only_their_machine_types() -> None:
    names = {
        path.name: [u.path for u in unrehearsed_fields(read_job_file(path))]
        for path in sorted((ROOT / "examples" / "digits").glob("*.yaml"))
    }
    assert names == {
        "job-multinode.yaml": [
            "trialJobSpec.workerPoolSpecs[0].machineSpec.machineType",
            "trialJobSpec.workerPoolSpecs[1].machineSpec.machineType",
        ],
        "job-two-metrics.yaml": ["trialJobSpec.workerPoolSpecs[0].machineSpec.machineType"],
        "job.yaml": ["trialJobSpec.workerPoolSpecs[0].machineSpec.machineType"],
    }


def _doc_rows() -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    block = text.split("<!-- BEGIN rehearsal table -->\n", 1)[1].split("<!-- END", 1)[0]
    lines = block.strip().splitlines()
    assert lines[:2] == ["| field | rehearsed | how, or why not |", "| --- | --- | --- |"]
    rows = []
    for line in lines[2:]:
        path, rehearsed, how = (cell.strip() for cell in line.strip("|").split(" | "))
        rows.append((path.strip("`"), rehearsed, how))
    return rows


def test_the_table_in_docs_check_md_is_the_code_table() -> None:
    assert _doc_rows() == field_table()
    assert gen_rehearsal.main(["--check"]) == 0
