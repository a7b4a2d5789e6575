"""``vertex-hydra local`` with ``conditionalParameterSpecs``: real trial processes, real Optuna.

Each trial of the fixture app records its argv as started; it must hold exactly the
trial's active parameters, as on Vertex AI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from local_support import read_csv, read_log, write_job

from vertex_hydra.cli import main
from vertex_hydra.jobspec import load_job

pytestmark = pytest.mark.slow


def _tree(grid: bool) -> list[dict[str, Any]]:
    """act -> x (relu); act -> n (gelu) -> sleep (n = 3): depth 2."""
    x = ({"parameterId": "x", "discreteValueSpec": {"values": [0.2, 0.4]}} if grid
         else {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}})  # fmt: skip
    sleep = {"parameterId": "sleep", "discreteValueSpec": {"values": [0.0, 0.01]}}
    n = {"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 3},
         "conditionalParameterSpecs": [
             {"parentIntValues": {"values": [3]}, "parameterSpec": sleep}]}  # fmt: skip
    return [{"parameterId": "act", "categoricalValueSpec": {"values": ["relu", "gelu"]},
             "conditionalParameterSpecs": [
                 {"parentCategoricalValues": {"values": ["relu"]}, "parameterSpec": x},
                 {"parentCategoricalValues": {"values": ["gelu"]}, "parameterSpec": n}]}]  # fmt: skip


def _active(values: dict[str, Any]) -> list[str]:
    if values["act"] == "relu":
        return ["act", "x"]
    return ["act", "n", "sleep"] if float(values["n"]) == 3 else ["act", "n"]


def _check_trials(tmp_path: Path, job_path: Path) -> list[dict[str, str]]:
    job = load_job(job_path)
    starts = [e for e in read_log(tmp_path) if e["event"] == "start"]
    rows = {r["trial_id"]: r for r in read_csv(tmp_path / "w" / "trials.csv")}
    assert len(rows) == len(starts) and {r["state"] for r in rows.values()} == {"SUCCEEDED"}
    for e in starts:
        row = rows[e["trial"]]
        values = {k: row[k] for k in ("act", "x", "n", "sleep") if row[k] != ""}
        assert list(values) == _active(values), row  # inactive cells are empty
        typed = {k: (v if k == "act" else float(v)) for k, v in values.items()}
        assert e["argv"] == job.trial_argv(typed)[2:]  # the argv holds exactly these
        assert [a.split("=")[0] for a in e["argv"] if a.startswith("--")] == [
            f"--{k}" for k in _active(values)]  # fmt: skip
    return list(rows.values())


def test_grid_search_runs_each_point_of_the_tree_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_path = write_job(tmp_path, _tree(grid=True), max_trials=20, parallel=2,
                         algorithm="GRID_SEARCH")  # fmt: skip
    assert main(["local", str(job_path), "--workdir", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    rows = _check_trials(tmp_path, job_path)
    points = sorted((r["act"], r["x"], r["n"], r["sleep"]) for r in rows)
    # relu x 2 values of x; gelu x (n = 1, 2, or 3 x 2 values of sleep)
    assert points == sorted([
        ("relu", "0.2", "", ""), ("relu", "0.4", "", ""), ("gelu", "", "1", ""),
        ("gelu", "", "2", ""), ("gelu", "", "3", "0.0"), ("gelu", "", "3", "0.01")])  # fmt: skip
    table = [line for line in out.splitlines() if line.split()[:1] and line.split()[0] in "123456"]
    assert len(table) >= 6


@pytest.mark.parametrize("algorithm", [None, "RANDOM_SEARCH"])
def test_sampled_studies_pass_exactly_the_active_parameters(
    tmp_path: Path, algorithm: str | None
) -> None:
    study = {"algorithm": algorithm} if algorithm else {}
    job_path = write_job(tmp_path, _tree(grid=False), max_trials=8, parallel=2, **study)
    assert main(["local", str(job_path), "--workdir", str(tmp_path / "w"), "--seed", "4"]) == 0
    rows = _check_trials(tmp_path, job_path)
    assert len(rows) == 8
    assert {r["act"] for r in rows} == {"relu", "gelu"}
    # --resume re-runs nothing and keeps working with the tree
    assert main(["local", str(job_path), "--workdir", str(tmp_path / "w"), "--resume",
                 "--max-trials", "10"]) == 0  # fmt: skip
    assert len(_check_trials(tmp_path, job_path)) == 10
