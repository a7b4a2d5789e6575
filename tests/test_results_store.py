"""A Vertex study fetched with ``results`` keeps a store like ``local``'s: Optuna reads it, the dashboard serves it."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.results import Measurement, StudyResults, TrialResult
from vertex_hydra.results.store import write_store

PARAMS = (
    ParameterSpec("lr", "DOUBLE", 1e-4, 1e-1, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("bs", "DISCRETE", values=(32, 64)),
    ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu")),
)


def _results(extra: int = 0) -> StudyResults:
    trials = [
        TrialResult("1", "SUCCEEDED", {"lr": 0.01, "bs": 64.0, "act": "relu"}, {"acc": 0.9},
                    seconds=12.5, measurements=[Measurement(10, 1.0, {"acc": 0.5}),
                                                Measurement(20, 2.0, {"acc": 0.9})]),
        TrialResult("2", "STOPPED", {"lr": 0.001, "bs": 32.0, "act": "gelu"}, {"acc": 0.3},
                    measurements=[Measurement(10, 1.5, {"acc": 0.3})]),
        TrialResult("3", "INFEASIBLE", {"lr": 0.05, "bs": 32.0, "act": "relu"}, {},
                    error="no measurement"),
    ]  # fmt: skip
    for i in range(extra):
        trials.append(
            TrialResult(str(4 + i), "ACTIVE", {"lr": 0.02, "bs": 64.0, "act": "gelu"}, {})
        )
    return StudyResults((MetricSpec("acc", "MAXIMIZE"),), PARAMS, trials)


def _load(db: Path) -> object:
    return optuna.load_study(study_name="vertex-hydra-local", storage=f"sqlite:///{db}")


def test_optuna_reads_the_trials_states_values_and_learning_curves(tmp_path: Path) -> None:
    db = write_store(_results(), tmp_path)
    trials = _load(db).get_trials()  # type: ignore[attr-defined]
    assert [t.user_attrs["vertex_trial_id"] for t in trials] == ["1", "2", "3"]
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "FAIL"]
    assert [t.values for t in trials] == [[0.9], [0.3], None]
    assert trials[0].intermediate_values == {10: 0.5, 20: 0.9}
    assert trials[1].intermediate_values == {10: 0.3}
    assert trials[0].params == {"lr": 0.01, "bs": 64, "act": "relu"}
    assert trials[2].user_attrs["vertex"]["error"] == "no measurement"


def test_fetching_again_updates_the_store_without_duplicates(tmp_path: Path) -> None:
    write_store(_results(), tmp_path)
    db = write_store(_results(extra=2), tmp_path)
    trials = _load(db).get_trials()  # type: ignore[attr-defined]
    assert [t.user_attrs["vertex_trial_id"] for t in trials] == ["1", "2", "3", "4", "5"]
    assert [t.state.name for t in trials[3:]] == ["RUNNING", "RUNNING"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_local_store_reader_reads_it_back(tmp_path: Path) -> None:
    from vertex_hydra.local.store import read_measurement

    db = write_store(_results(), tmp_path)
    first = _load(db).get_trials()[0]  # type: ignore[attr-defined]
    outcome = first.user_attrs["vertex"]
    assert outcome["state"] == "SUCCEEDED" and outcome["seconds"] == 12.5
    assert [read_measurement(m) for m in outcome["measurements"]] == _results().trials[
        0
    ].measurements


def test_the_dashboard_serves_a_fetched_study(tmp_path: Path) -> None:
    pytest.importorskip("optuna_dashboard")
    from vertex_hydra.dashboard import open_dashboard

    write_store(_results(), tmp_path)
    server = open_dashboard(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = server.url.removesuffix("/dashboard")
    try:
        with urllib.request.urlopen(f"{base}/api/studies", timeout=30) as r:
            studies = json.load(r)["study_summaries"]
        study_id = studies[0]["study_id"]
        with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=30) as r:
            detail = json.load(r)
    finally:
        server.stop()  # the serving thread returns within its poll interval, then the port closes
        thread.join(timeout=30)
        server.close()
    assert not thread.is_alive()
    assert [s["study_name"] for s in studies] == ["vertex-hydra-local"]
    trials = sorted(detail["trials"], key=lambda t: t["number"])
    served = [sorted((v["step"], v["value"]) for v in t["intermediate_values"]) for t in trials]
    assert served == [[(10, 0.5), (20, 0.9)], [(10, 0.3)], []]
