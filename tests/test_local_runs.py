"""``vertex-hydra local`` end to end: real trial processes of a plain Hydra app, real Optuna."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
from local_support import read_csv, read_log, write_job

from vertex_hydra.cli import main
from vertex_hydra.jobspec import load_job

pytestmark = pytest.mark.slow

X = {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}}
N = {"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 3}}


def _score(x: float, n: int) -> float:
    return 1.0 - (x - 0.3) ** 2 - 0.01 * (n - 3) ** 2  # the fixture app's objective


def _local(job: Path, *extra: str) -> int:
    return main(["local", str(job), "--workdir", str(job.parent / "w"), *extra])


def test_grid_study_runs_each_point_with_vertex_argv_env_and_parallelism(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    act = {"parameterId": "act", "categoricalValueSpec": {"values": ["relu", "gelu"]}}
    job_path = write_job(
        tmp_path,
        [N, act],
        args=["steps=2", "sleep=0.15"],
        max_trials=10,
        parallel=2,
        base_output=True,
        algorithm="GRID_SEARCH",
    )
    assert _local(job_path) == 0
    out = capsys.readouterr().out
    work = tmp_path / "w"
    starts = [e for e in read_log(tmp_path) if e["event"] == "start"]
    assert sorted((e["n"], e["act"]) for e in starts) == sorted(
        (n, a) for n in (1, 2, 3) for a in ("relu", "gelu")
    )  # maxTrialCount capped at the grid
    job = load_job(job_path)
    for e in starts:
        tid = e["trial"]
        assert (
            e["argv"] == job.trial_argv({"n": e["n"], "act": e["act"]})[2:]
        )  # after python app.py
        assert e["argv"][-2:] == [f"--n={float(e['n'])!r}", f"--act={e['act']}"]
        assert e["cwd"] == str(tmp_path)
        assert e["env"] == {
            "CLOUD_ML_TRIAL_ID": tid,
            "CLOUD_ML_HP_METRIC_FILE": str(work / "trials" / tid / "output.metrics"),
            "CLOUD_ML_HP_METRIC_TAG": "score",
            "CLOUD_ML_JOB_ID": "local-w",
            "AIP_MODEL_DIR": f"{work}/outputs/{tid}/model/",
            "AIP_CHECKPOINT_DIR": f"{work}/outputs/{tid}/checkpoints/",
            "AIP_TENSORBOARD_LOG_DIR": f"{work}/outputs/{tid}/logs/",
        }
    assert sorted(int(e["trial"]) for e in starts) == [1, 2, 3, 4, 5, 6]
    # Two at a time: the runner starts trial 2 while trial 1 runs. Judged from the runner's own
    # lines, not from the apps' logs: two interpreters starting on 2 busy cores can be 0.3 s
    # apart, longer than a trial's sleep, so the order of the apps' first lines is luck.
    assert out.index("trial 2 started") < out.index("trial 1 SUCCEEDED")
    rows = read_csv(work / "trials.csv")
    assert len(rows) == 6 and {r["state"] for r in rows} == {"SUCCEEDED"}
    for r in rows:
        assert float(r["value"]) == pytest.approx(_score(0.5, int(r["n"])))  # x=0.5: the default
        assert float(r["seconds"]) > 0.3
    for tid in "123456":
        assert f"trial {tid} started" in out and f"trial {tid} SUCCEEDED" in out
    assert "Best overrides: n=3 act=" in out
    assert all(
        (work / name).read_bytes()[:4] == b"\x89PNG"
        for name in ("history.png", "param_n.png", "param_act.png")
    )
    assert (work / "trials" / "1" / "stdout.log").exists()


def test_every_trial_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    act = {
        "parameterId": "act",
        "categoricalValueSpec": {"values": ["relu", "crash", "silent", "diverge"]},
    }
    job = write_job(
        tmp_path, [act], args=["steps=2"], max_trials=4, parallel=2, algorithm="GRID_SEARCH"
    )
    assert _local(job) == 0
    rows = {r["act"]: r for r in read_csv(tmp_path / "w" / "trials.csv")}
    assert {a: r["state"] for a, r in rows.items()} == {
        "relu": "SUCCEEDED",
        "crash": "FAILED",
        "silent": "INFEASIBLE",
        "diverge": "INFEASIBLE",
    }
    out = capsys.readouterr().out
    crash = rows["crash"]["trial_id"]
    assert (
        f"trial {crash} FAILED: exit status 3; stderr ends:\n"
        "RuntimeError: the fixture crashed on purpose"
    ) in out  # in the table's notes
    assert (
        f"trial {crash} FAILED in" in out
        and "exit status 3; stderr ends: ... RuntimeError: the fixture" in out
    )
    assert (
        f"trial {rows['silent']['trial_id']} INFEASIBLE: no measurement of ['score']; its metric file has no report"
        in out
    )
    assert (
        f"trial {rows['diverge']['trial_id']} INFEASIBLE: final measurement is not finite: {{'score': nan}}"
        in out
    )


@pytest.mark.parametrize(("max_failed", "expected_trials"), [(2, 2), (0, 3)])
def test_max_failed_trial_count_stops_the_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], max_failed: int, expected_trials: int
) -> None:
    job = write_job(
        tmp_path,
        [X],
        args=["act=crash"],
        max_trials=10,
        max_failed=max_failed,
        algorithm="RANDOM_SEARCH",
    )
    assert _local(job) == 1
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [r["state"] for r in rows] == ["FAILED"] * expected_trials  # 0: max(3, ceil(10 / 4))
    assert f"Study stopped: {expected_trials} trials FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("selection", "fraction"),
    [(None, 2 / 3), ("LAST_MEASUREMENT", 2 / 3), ("BEST_MEASUREMENT", 1.0)],
)
def test_final_measurement_last_versus_best(
    tmp_path: Path, selection: str | None, fraction: float
) -> None:
    study: dict[str, Any] = {"measurementSelectionType": selection} if selection else {}
    xs = {"parameterId": "x", "discreteValueSpec": {"values": [0.2]}}
    # curve=peak over 3 steps reports score * (2/3, 1, 2/3).
    job = write_job(tmp_path, [xs], args=["steps=3", "curve=peak"], max_trials=1, **study)
    assert _local(job) == 0
    (row,) = read_csv(tmp_path / "w" / "trials.csv")
    assert float(row["value"]) == pytest.approx(_score(0.2, 3) * fraction)


def test_best_measurement_beyond_the_100_reports_hypertune_keeps(tmp_path: Path) -> None:
    xs = {"parameterId": "x", "discreteValueSpec": {"values": [0.2]}}
    # 150 reports over ~3 s, best at step 1: the file's last 100 no longer hold it.
    job = write_job(
        tmp_path,
        [xs],
        args=["steps=150", "sleep=0.02", "curve=falling"],
        max_trials=1,
        measurementSelectionType="BEST_MEASUREMENT",
    )
    assert _local(job) == 0
    (row,) = read_csv(tmp_path / "w" / "trials.csv")
    assert len((tmp_path / "w" / "trials" / "1" / "output.metrics").read_text().splitlines()) == 100
    assert float(row["value"]) == pytest.approx(_score(0.2, 3))


def test_median_rule_stops_a_poor_trial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xs = {"parameterId": "x", "discreteValueSpec": {"values": [0.29, 0.3, 0.31, 3.0]}}
    job = write_job(
        tmp_path,
        [xs],
        args=["steps=8", "sleep=0.12"],
        max_trials=4,
        algorithm="GRID_SEARCH",
        medianAutomatedStoppingSpec={},
    )
    assert _local(job) == 0
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [(r["x"], r["state"]) for r in rows] == [
        ("0.29", "SUCCEEDED"),
        ("0.3", "SUCCEEDED"),
        ("0.31", "SUCCEEDED"),
        ("3.0", "STOPPED"),
    ]
    assert (
        "trial 4 stopping: worse than the median of finished trials at step"
        in capsys.readouterr().out
    )
    # It was cut short, and keeps its last measurement (LAST_MEASUREMENT).
    ends = [e for e in read_log(tmp_path) if e["event"] == "end"]
    assert len(ends) == 3
    import optuna

    study = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{tmp_path / 'w' / 'study.db'}"
    )
    steps = study.trials[3].user_attrs["vertex"]["measurements"]
    assert 1 <= len(steps) < 8
    assert float(rows[3]["value"]) == pytest.approx(steps[-1]["values"]["score"])
    # Every measurement is an Optuna intermediate value too (optuna-dashboard's curves).
    assert study.trials[3].intermediate_values == {
        m["step"]: pytest.approx(m["values"]["score"]) for m in steps
    }
    assert sorted(study.trials[0].intermediate_values) == list(range(1, 9))
    assert float(rows[3]["seconds"]) < min(float(r["seconds"]) for r in rows[:3])


def test_convex_rule_stops_a_clearly_worse_trial_and_never_a_better_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Rising curves score(x) * step / 8: the three first trials end at 0.96, 0.99, 0.9975.
    xs = {"parameterId": "x", "discreteValueSpec": {"values": [0.1, 0.2, 0.25, 0.3, 1.0]}}
    job = write_job(
        tmp_path,
        [xs],
        args=["steps=8", "sleep=0.12", "curve=rising"],
        max_trials=5,
        algorithm="GRID_SEARCH",
        convexAutomatedStoppingSpec={
            "maxStepCount": 8,
            "minMeasurementCount": 2,
            "learningRateParameterName": "x",
        },
    )
    assert _local(job) == 0
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [(r["x"], r["state"]) for r in rows] == [
        ("0.1", "SUCCEEDED"),
        ("0.2", "SUCCEEDED"),
        ("0.25", "SUCCEEDED"),
        ("0.3", "SUCCEEDED"),  # predicted 1.0 at step 8, better than 0.9975: it runs to the end
        ("1.0", "STOPPED"),  # predicted 0.51 at step 8
    ]
    assert float(rows[3]["value"]) == pytest.approx(_score(0.3, 3))
    out = capsys.readouterr().out
    assert (
        "not rehearsed here: studySpec.convexAutomatedStoppingSpec.learningRateParameterName — "
        "how Vertex AI uses the learning rate in its prediction is not published"
    ) in out
    assert (
        "trial 5 stopping: predicted 0.51 at step 8, worse than the best finished trial (1) "
        "(convex rule)"
    ) in out
    assert out.count("stopping: ") == 1
    # It keeps its last real measurement, not a predicted one at step 8.
    import optuna

    study = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{tmp_path / 'w' / 'study.db'}"
    )
    steps = study.trials[4].user_attrs["vertex"]["measurements"]
    assert 2 <= len(steps) < 8 and steps[-1]["step"] < 8
    assert float(rows[4]["value"]) == pytest.approx(steps[-1]["values"]["score"])
    assert float(rows[4]["value"]) == pytest.approx(_score(1.0, 3) * steps[-1]["step"] / 8)


def test_multi_objective_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = [{"metricId": "score", "goal": "MAXIMIZE"}, {"metricId": "cost", "goal": "MINIMIZE"}]
    job = write_job(
        tmp_path, [X, N], metrics=metrics, args=["metrics=[score,cost]"], max_trials=4, parallel=2
    )
    assert _local(job, "--seed", "3") == 0
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert list(rows[0]) == ["trial_id", "state", "x", "n", "value:score", "value:cost", "seconds"]
    for r in rows:
        x, n = float(r["x"]), int(r["n"])
        assert float(r["value:score"]) == pytest.approx(_score(x, n))
        assert float(r["value:cost"]) == pytest.approx(n + x)
    starts = [e for e in read_log(tmp_path) if e["event"] == "start"]
    assert [e["env"]["CLOUD_ML_HP_METRIC_TAG"] for e in starts] == [None] * 4  # several metrics
    assert "score (MAXIMIZE)" in capsys.readouterr().out


def test_bayesian_default_with_scales_and_seed(tmp_path: Path) -> None:
    params = [
        {
            "parameterId": "x",
            "scaleType": "UNIT_REVERSE_LOG_SCALE",
            "doubleValueSpec": {"minValue": 0.01, "maxValue": 1.0},
        },
        {
            "parameterId": "n",
            "scaleType": "UNIT_LOG_SCALE",
            "integerValueSpec": {"minValue": 1, "maxValue": 50},
        },
    ]
    runs = []
    for name in ("a", "b"):
        job = write_job(tmp_path / name, params, max_trials=5, parallel=2)
        assert (
            main(["local", str(job), "--workdir", str(tmp_path / name / "w"), "--seed", "7"]) == 0
        )
        runs.append(read_csv(tmp_path / name / "w" / "trials.csv"))
    # Two trials at a time: which one is told first may vary, so compare the first pair.
    assert {(r["x"], r["n"]) for r in runs[0][:2]} == {(r["x"], r["n"]) for r in runs[1][:2]}
    for r in runs[0]:
        assert 0.01 <= float(r["x"]) <= 1.0 and r["n"].isdigit() and 1 <= int(r["n"]) <= 50
        assert float(r["value"]) == pytest.approx(_score(float(r["x"]), int(r["n"])))


def test_command_that_cannot_start_is_a_failed_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], max_trials=1)
    job.write_text(job.read_text().replace("- python\n", "- ./no-such-program\n", 1))
    assert _local(job) == 0
    (row,) = read_csv(tmp_path / "w" / "trials.csv")
    assert row["state"] == "FAILED"
    assert "cannot start './no-such-program'" in capsys.readouterr().out


def test_usage_errors_say_what_and_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = write_job(tmp_path, [X], max_trials=1)
    assert _local(job, "--resume") == 2
    assert "--resume: there is no study to resume in" in capsys.readouterr().err
    assert _local(job) == 0
    capsys.readouterr()
    assert _local(job) == 2
    assert "already holds a study" in capsys.readouterr().err
    job.write_text(job.read_text().replace("maxValue: 1.0", "maxValue: 2.0"))
    assert _local(job, "--resume") == 2
    assert "the job file changed since the study in" in capsys.readouterr().err
    assert _local(job, "--parallel", "0") == 2
    assert "expected a whole number of at least 1, got '0'" in capsys.readouterr().err
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "optuna" else real(name, *a)
    )
    assert _local(job) == 2
    err = capsys.readouterr().err
    assert err == (
        "vertex-hydra local: error: 'vertex-hydra local' needs optuna, which is not "
        'installed. Fix: pip install "vertex-hydra[local]"\n'
    )


def test_resume_of_a_finished_study_renders_again_without_running(tmp_path: Path) -> None:
    job = write_job(tmp_path, [X], max_trials=2)
    assert _local(job) == 0
    assert _local(job, "--resume") == 0
    assert len([e for e in read_log(tmp_path) if e["event"] == "start"]) == 2
    assert _local(job, "--resume", "--max-trials", "3") == 0
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [r["trial_id"] for r in rows] == ["1", "2", "3"]
    assert not math.isnan(float(rows[2]["value"]))
    assert os.path.exists(tmp_path / "w" / "study.db")


def test_plain_resume_keeps_the_max_trials_the_study_was_started_with(tmp_path: Path) -> None:
    job = write_job(tmp_path, [X], max_trials=4)
    assert _local(job, "--max-trials", "2") == 0
    assert _local(job, "--resume") == 0  # not maxTrialCount's 4
    assert len(read_csv(tmp_path / "w" / "trials.csv")) == 2
    assert _local(job, "--resume", "--max-trials", "3") == 0
    assert _local(job, "--resume") == 0
    assert [r["trial_id"] for r in read_csv(tmp_path / "w" / "trials.csv")] == ["1", "2", "3"]
    assert len([e for e in read_log(tmp_path) if e["event"] == "start"]) == 3


def test_a_metric_file_left_in_the_workdir_is_not_read_as_the_trials(tmp_path: Path) -> None:
    job = write_job(tmp_path, [X], args=["act=silent"], max_trials=1)
    old = tmp_path / "w" / "trials" / "1" / "output.metrics"  # an earlier study's, without its db
    old.parent.mkdir(parents=True)
    old.write_text('{"global_step": "1", "timestamp": 1.0, "trial": "1", "score": "0.99"}\n')
    assert _local(job) == 0
    (row,) = read_csv(tmp_path / "w" / "trials.csv")
    assert (row["state"], row["value"]) == ("INFEASIBLE", "")


def test_a_workdir_that_cannot_be_created_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], max_trials=1)
    (tmp_path / "w").write_text("a file, not a folder")
    assert _local(job) == 2
    assert capsys.readouterr().err == (
        f"vertex-hydra local: error: cannot create the study folder {tmp_path / 'w'}: File exists. "
        "Fix: pass --workdir a folder you can write to.\n"
    )
