"""The digits example: its ``job.yaml`` is a valid job, and its trial command writes a correct metric file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_ddp import assert_done_when, run_trial  # pytest puts tests/ on sys.path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits"


def load_job() -> dict[str, Any]:
    job: dict[str, Any] = yaml.safe_load((EXAMPLE / "job.yaml").read_text())
    return job


def trial_argument(parameter: dict[str, Any]) -> str:
    """One ``--<parameterId>=<value>`` as Vertex sends it: numbers as doubles, e.g. ``64.0``."""
    if "doubleValueSpec" in parameter:
        spec = parameter["doubleValueSpec"]
        value: object = math.sqrt(spec["minValue"] * spec["maxValue"])  # mid-point on a log scale
    elif "integerValueSpec" in parameter:
        value = float(parameter["integerValueSpec"]["maxValue"])
    elif "discreteValueSpec" in parameter:
        value = float(parameter["discreteValueSpec"]["values"][-1])
    else:
        value = parameter["categoricalValueSpec"]["values"][-1]
    return f"--{parameter['parameterId']}={value}"


def test_job_tunes_every_parameter_type_and_val_acc() -> None:
    study = load_job()["studySpec"]
    assert study["metrics"] == [{"metricId": "val/acc", "goal": "MAXIMIZE"}]
    kinds = {next(k for k in p if k.endswith("ValueSpec")): p for p in study["parameters"]}
    assert set(kinds) == {
        "doubleValueSpec",
        "discreteValueSpec",
        "integerValueSpec",
        "categoricalValueSpec",
    }
    assert kinds["doubleValueSpec"]["scaleType"] == "UNIT_LOG_SCALE"
    assert kinds["discreteValueSpec"] == {
        "parameterId": "data.batch_size",
        "discreteValueSpec": {"values": [32, 64, 128]},
    }
    container = load_job()["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert container["command"] == ["python", "train.py"]


def test_job_matches_the_vertex_schema() -> None:
    aiplatform = pytest.importorskip("google.cloud.aiplatform_v1")
    from google.protobuf.json_format import ParseDict

    message = ParseDict(
        load_job(), aiplatform.HyperparameterTuningJob.pb(aiplatform.HyperparameterTuningJob())
    )
    assert message.study_spec.metrics[0].metric_id == "val/acc"


@pytest.mark.slow
def test_digits_trial_from_job_yaml_writes_a_correct_metric_file(tmp_path: Path) -> None:
    job = load_job()
    container = job["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    trial_args = [trial_argument(p) for p in job["studySpec"]["parameters"]]
    assert trial_args[1:] == [
        "--data.batch_size=128.0",
        "--model.hidden_layers=3.0",
        "--model.activation=tanh",
    ]
    # The command runs from the job file's folder, as the container's working directory.
    command = (
        container["command"][1:] + container.get("args", []) + ["trainer.max_epochs=3"] + trial_args
    )
    lines, _ = run_trial(EXAMPLE, command, tmp_path, trial="7")

    assert_done_when(lines, epochs=3, trial="7")
    batches = math.ceil(1347 / 128)  # 75% of 1797 digits, batch size 128
    assert [int(line["global_step"]) for line in lines[:-1]] == [batches, 2 * batches, 3 * batches]


TWO_METRICS = Path(__file__).resolve().parents[1] / "examples" / "digits" / "job-two-metrics.yaml"


@pytest.mark.slow
def test_the_two_metric_conditional_digits_job_checks_runs_and_dry_run_submits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10's done-when: the digits job with two metrics and a conditional child."""
    import csv
    import json

    from vertex_hydra.cli import main

    assert main(["check", str(TWO_METRICS)]) == 0
    checked = capsys.readouterr().out
    assert "model.width (when model.hidden_layers in [2, 3])" in checked
    assert "OK: every parameter reaches the config as intended." in checked

    work = tmp_path / "w"
    assert main(["local", str(TWO_METRICS), "--workdir", str(work), "--max-trials", "3",
                 "--parallel", "1", "--seed", "3"]) == 0  # fmt: skip
    capsys.readouterr()
    with (work / "trials.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["state"] for r in rows] == ["SUCCEEDED"] * 3
    for row in rows:
        acc, loss = float(row["value:val/acc"]), float(row["value:val/loss"])
        assert 0.0 < acc <= 1.0 and 0.0 < loss < 5.0
        # The child is sampled, and passed, only when its parent activates it.
        assert (row["model.width"] == "") == (row["model.hidden_layers"] == "1")
        reported = [
            json.loads(line)
            for line in (work / "trials" / row["trial_id"] / "output.metrics")
            .read_text()
            .splitlines()
        ]
        assert all({"val/acc", "val/loss"} <= line.keys() for line in reported)
    assert (work / "pareto.png").stat().st_size > 0

    assert main(["submit", str(TWO_METRICS), "--project", "p", "--region", "us-central1",
                 "--image", "us-central1-docker.pkg.dev/p/r/digits:1", "--dry-run",
                 "--no-check"]) == 0  # fmt: skip
    body = json.loads(capsys.readouterr().out)
    study = body["trialJobSpec"] and body["studySpec"]
    assert [m["metricId"] for m in study["metrics"]] == ["val/acc", "val/loss"]
    (layers,) = [p for p in study["parameters"] if p["parameterId"] == "model.hidden_layers"]
    assert layers["conditionalParameterSpecs"][0]["parameterSpec"]["parameterId"] == "model.width"
