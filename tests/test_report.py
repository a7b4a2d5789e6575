"""``report_metric`` writes hypertune's exact format through the real ``hypertune`` writer."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import hypertune
import pytest

from vertex_hydra import ConfigurationError, report_metric
from vertex_hydra.report import (
    DEFAULT_METRIC_FILE,
    DEFAULT_TAG,
    ReportWarning,
    default_tag,
    get_writer,
    is_chief,
    metric_file_path,
    trial_id,
)

_VERTEX_ENV = (
    "CLOUD_ML_HP_METRIC_FILE",
    "CLOUD_ML_HP_METRIC_TAG",
    "CLOUD_ML_TRIAL_ID",
    "RANK",
    "LOCAL_RANK",
    "NODE_RANK",
    "GROUP_RANK",
    "CLUSTER_SPEC",
    "TF_CONFIG",
)


@pytest.fixture
def metric_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh metric file under tmp_path, and no other Vertex/rank variables."""
    for name in _VERTEX_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "hypertune" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(path))
    return path


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_format_line_by_line(metric_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "17")
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", "val/acc")
    before = time.time()
    reports = [(0.25, 10, ""), (1, 20, "gs://b/ckpt-20"), (0.875, None, "")]
    for value, step, checkpoint in reports:
        assert report_metric(value, step=step, checkpoint_path=checkpoint) is True

    text = metric_file.read_text()
    assert text.endswith("\n") and len(text.splitlines()) == len(reports)
    for raw, (value, step, checkpoint) in zip(text.splitlines(), reports):
        line = json.loads(raw)
        assert raw == json.dumps(line, sort_keys=True)  # hypertune's key order
        assert set(line) == {"checkpoint_path", "global_step", "timestamp", "trial", "val/acc"}
        assert line["val/acc"] == str(float(value))
        assert line["global_step"] == str(step or 0)
        assert line["trial"] == "17"
        assert line["checkpoint_path"] == checkpoint
        assert isinstance(line["timestamp"], float) and before <= line["timestamp"] <= time.time()


@pytest.mark.parametrize(
    ("explicit", "study", "expected"),
    [
        ("val/loss", "val/loss", "val/loss"),
        (None, "val/acc", "val/acc"),
        (None, None, DEFAULT_TAG),
        ("val/f1", None, "val/f1"),
    ],
)
def test_tag_precedence(
    metric_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    explicit: str | None,
    study: str | None,
    expected: str,
) -> None:
    if study is not None:
        monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", study)
    report_metric(0.5, tag=explicit)
    (line,) = read_lines(metric_file)
    assert line[expected] == "0.5"
    assert DEFAULT_TAG == "training/hptuning/metric"


def test_explicit_tag_unlike_study_warns_once(
    metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", "val/acc-once")
    with pytest.warns(
        ReportWarning, match=r"tag='accuracy'\) differs from CLOUD_ML_HP_METRIC_TAG='val/acc-once'"
    ):
        report_metric(0.1, tag="accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report_metric(0.2, tag="accuracy")
    assert [line["accuracy"] for line in read_lines(metric_file)] == ["0.1", "0.2"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_is_refused(metric_file: Path, bad: float) -> None:
    report_metric(0.5, tag="val/loss", step=1)
    with pytest.warns(ReportWarning, match=rf"'val/loss' is {bad} at step 2; nothing was written"):
        assert report_metric(bad, tag="val/loss", step=2) is False
    assert [line["global_step"] for line in read_lines(metric_file)] == ["1"]


def test_nonfinite_alone_writes_no_file(metric_file: Path) -> None:
    with pytest.warns(ReportWarning, match="substitute_nonfinite"):
        report_metric(math.nan, tag="val/loss")
    assert not metric_file.exists()


def test_nonfinite_substitute(metric_file: Path) -> None:
    with pytest.warns(ReportWarning, match=r"is nan at step 3; wrote substitute_nonfinite=-1.0"):
        assert report_metric(math.nan, tag="val/loss", step=3, substitute_nonfinite=-1) is True
    report_metric(0.5, tag="val/loss", step=4, substitute_nonfinite=-1)
    assert [line["val/loss"] for line in read_lines(metric_file)] == ["-1.0", "0.5"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": "high"}, r"report_metric\(value='high'\): expected a real number.*got str"),
        ({"value": None}, r"report_metric\(value=None, metrics=None\): nothing to report"),
        ({"value": None, "tag": "m"}, r"report_metric\(tag='m', value=None\): tag names the"),
        ({"metrics": [0.5]}, r"report_metric\(metrics=\[0.5\]\): expected a mapping"),
        ({"metrics": {"trial": 1.0}}, r"report_metric\(metrics='trial'\): this name is a field"),
        ({"metrics": {"": 1.0}}, r"report_metric\(metrics=''\): tag must be a non-empty"),
        ({"tag": "m", "metrics": {"m": 1.0}}, r"\{'m': ...\}\): 'm' is also the tag of value"),
        ({"metrics": {"lat": "x"}}, r"report_metric\(metrics\['lat'\]='x'\): expected a real"),
        ({"tag": ""}, r"report_metric\(tag=''\): tag must be a non-empty string"),
        ({"tag": "trial"}, r"report_metric\(tag='trial'\): this name is a field of hypertune"),
        ({"tag": "global_step"}, r"tag='global_step'.*would overwrite it"),
        ({"step": -1}, r"report_metric\(step=-1\): step must be a non-negative integer"),
        ({"step": 2.5}, r"report_metric\(step=2.5\): step must be a non-negative integer"),
        ({"step": True}, r"report_metric\(step=True\): step must be"),
        (
            {"substitute_nonfinite": math.inf},
            r"substitute_nonfinite=inf\): the substitute must be finite",
        ),
        (
            {"substitute_nonfinite": "zero"},
            r"report_metric\(substitute_nonfinite='zero'\): expected a real",
        ),
    ],
)
def test_invalid_arguments(metric_file: Path, kwargs: dict[str, object], match: str) -> None:
    call = {"value": 0.5, **kwargs}
    value = call.pop("value")
    with pytest.raises(ConfigurationError, match=match):
        report_metric(value, **call)  # type: ignore[arg-type]
    assert not metric_file.exists()


def test_numpy_like_and_int_steps(metric_file: Path) -> None:
    class Scalar:  # anything float() accepts, like a 0-d tensor
        def __float__(self) -> float:
            return 0.75

    class Step:
        def __index__(self) -> int:
            return 12

    report_metric(Scalar(), tag="m", step=Step())  # type: ignore[arg-type]
    (line,) = read_lines(metric_file)
    assert (line["m"], line["global_step"]) == ("0.75", "12")


def test_one_writer_keeps_history(metric_file: Path) -> None:
    for step in range(1, 8):
        report_metric(step / 10, tag="m", step=step)
    assert get_writer() is get_writer()
    assert [line["global_step"] for line in read_lines(metric_file)] == [
        str(s) for s in range(1, 8)
    ]


def test_history_capped_at_hypertunes_100(metric_file: Path) -> None:
    for step in range(130):
        report_metric(step, tag="m", step=step)
    steps = [int(str(line["global_step"])) for line in read_lines(metric_file)]
    assert steps == list(range(30, 130))


def test_new_file_or_trial_gets_new_writer(
    metric_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_metric(1.0, tag="m")
    first = get_writer()
    assert isinstance(first, hypertune.HyperTune)
    other = tmp_path / "second" / "m.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(other))
    report_metric(2.0, tag="m")
    assert get_writer() is not first
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "9")
    report_metric(3.0, tag="m")
    assert [line["m"] for line in read_lines(metric_file)] == ["1.0"]
    assert [(line["m"], line["trial"]) for line in read_lines(other)] == [("3.0", "9")]


def test_bare_relative_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hypertune alone crashes on a bare name (os.makedirs("")); it resolves against the cwd.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", "bare.metrics")
    report_metric(0.5, tag="m")
    assert get_writer().metric_path == str(tmp_path / "bare.metrics")
    assert [line["m"] for line in read_lines(tmp_path / "bare.metrics")] == ["0.5"]
    assert os.environ["CLOUD_ML_HP_METRIC_FILE"] == "bare.metrics"  # restored


def test_relative_file_name_is_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A chdir after the first report (e.g. into a run folder) must not start a second file.
    (tmp_path / "later").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", "resolved-once.metrics")
    report_metric(0.5, tag="m", step=1)
    monkeypatch.chdir(tmp_path / "later")
    report_metric(0.6, tag="m", step=2)
    assert [line["m"] for line in read_lines(tmp_path / "resolved-once.metrics")] == ["0.5", "0.6"]
    assert not (tmp_path / "later" / "resolved-once.metrics").exists()


def test_no_vertex_environment_uses_hypertunes_defaults() -> None:
    assert metric_file_path({}) == DEFAULT_METRIC_FILE == "/tmp/hypertune/output.metrics"
    assert metric_file_path({"CLOUD_ML_HP_METRIC_FILE": ""}) == DEFAULT_METRIC_FILE
    assert default_tag({}) == DEFAULT_TAG
    assert trial_id({}) == "0"


@pytest.mark.parametrize(
    ("env", "chief"),
    [
        ({}, True),
        ({"RANK": "0", "LOCAL_RANK": "0", "NODE_RANK": "0"}, True),
        ({"LOCAL_RANK": "1"}, False),
        ({"RANK": "3"}, False),
        ({"NODE_RANK": "1", "LOCAL_RANK": "0"}, False),
        ({"GROUP_RANK": "2"}, False),
        ({"CLUSTER_SPEC": '{"task": {"type": "workerpool0", "index": 0}}'}, True),
        ({"CLUSTER_SPEC": '{"task": {"type": "workerpool0", "index": 1}}'}, False),
        ({"CLUSTER_SPEC": '{"task": {"type": "workerpool1", "index": 0}}'}, False),
        ({"TF_CONFIG": '{"task": {"type": "chief", "index": 0}}'}, True),
        ({"TF_CONFIG": '{"task": {"type": "worker", "index": 0}}'}, False),
        ({"CLUSTER_SPEC": "not json"}, True),
    ],
)
def test_is_chief(env: dict[str, str], chief: bool) -> None:
    assert is_chief(env) is chief


def test_non_chief_writes_nothing(metric_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert report_metric(0.5, tag="m") is False
    assert not metric_file.exists()
    assert report_metric(0.5, tag="m", chief_only=False) is True
    assert len(read_lines(metric_file)) == 1


_RACE_CHILD = """
import sys, time
from vertex_hydra import report_metric
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
report_metric(1.0, tag="m")
"""


def test_concurrent_processes_create_the_folder_race_free(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "c"
    start = time.time() + 2.0  # all children call report_metric at the same instant
    children = []
    for index in range(6):
        env = {k: v for k, v in os.environ.items() if k not in _VERTEX_ENV}
        env["CLOUD_ML_HP_METRIC_FILE"] = str(folder / f"trial{index}.metrics")
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", _RACE_CHILD, str(start)],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    errors = [child.communicate(timeout=60)[1] for child in children]
    assert [child.returncode for child in children] == [0] * 6, errors
    assert sorted(p.name for p in folder.iterdir()) == [f"trial{i}.metrics" for i in range(6)]


def _study_env(monkeypatch: pytest.MonkeyPatch, *metrics: tuple[str, str]) -> None:
    from vertex_hydra.study_env import STUDY_ENV, encode_study

    monkeypatch.setenv(STUDY_ENV, encode_study(list(metrics), {}))


def test_several_metrics_in_one_line(metric_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "4")
    _study_env(monkeypatch, ("val/acc", "MAXIMIZE"), ("latency", "MINIMIZE"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both tags are the study's: no warning
        assert report_metric(0.5, step=3, metrics={"latency": 12}) is True
        assert report_metric(metrics={"val/acc": 0.75, "latency": 11.5}, step=4) is True
    lines = read_lines(metric_file)
    assert [sorted(line) for line in lines] == [
        ["checkpoint_path", "global_step", "latency", "timestamp", "trial", "val/acc"]
    ] * 2
    assert [(x["global_step"], x["val/acc"], x["latency"], x["trial"]) for x in lines] == [
        ("3", "0.5", "12.0", "4"),
        ("4", "0.75", "11.5", "4"),
    ]
    # The writer's own queue holds the whole line, so its next write keeps it.
    report_metric(0.8, tag="val/acc", step=5)
    assert read_lines(metric_file)[1]["latency"] == "11.5"


def test_a_tag_outside_a_multi_metric_study_is_named(
    metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _study_env(monkeypatch, ("val/acc", "MAXIMIZE"), ("latency", "MINIMIZE"))
    with pytest.warns(ReportWarning) as record:
        report_metric(metrics={"val/acc": 0.5, "val/f1": 0.2})
    (message,) = [str(w.message) for w in record]
    assert message.startswith(
        "report_metric(metrics='val/f1') differs from each of the study's metrics "
        "['val/acc', 'latency']"
    )


def test_a_nonfinite_metric_among_several_is_left_out(metric_file: Path) -> None:
    with pytest.warns(ReportWarning, match=r"'lat' is nan at step 2; nothing was written for it"):
        assert report_metric(0.5, tag="acc", step=2, metrics={"lat": math.nan}) is True
    (line,) = read_lines(metric_file)
    assert (line["acc"], "lat" in line) == ("0.5", False)
    with pytest.warns(ReportWarning):
        assert report_metric(metrics={"lat": math.inf, "acc": math.nan}) is False
    assert len(read_lines(metric_file)) == 1


def _old_line(trial: str, step: int) -> str:
    return json.dumps(
        {
            "checkpoint_path": "",
            "global_step": str(step),
            "m": str(step / 10),
            "timestamp": 1.0,
            "trial": trial,
        },
        sort_keys=True,
    )


def test_first_report_keeps_this_trials_lines(
    metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metric_file.parent.mkdir(parents=True)
    old = [_old_line("7", 1), _old_line("6", 2), '{"trial": "7", "m": "cut sh', _old_line("7", 3)]
    metric_file.write_text("\n".join(old) + "\n")
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "7")
    from vertex_hydra.report import last_step

    assert last_step() == 3  # what the first report will keep
    report_metric(0.4, tag="m", step=4)
    lines = read_lines(metric_file)
    assert [(x["trial"], x["global_step"], x["m"]) for x in lines] == [
        ("7", "1", "0.1"),
        ("7", "3", "0.3"),
        ("7", "4", "0.4"),
    ]
    assert last_step() == 4


def test_kept_lines_are_capped_at_hypertunes_100(
    metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metric_file.parent.mkdir(parents=True)
    metric_file.write_text("".join(_old_line("2", s) + "\n" for s in range(1, 151)))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "2")
    report_metric(15.1, tag="m", step=151)
    steps = [int(str(x["global_step"])) for x in read_lines(metric_file)]
    assert steps == list(range(52, 152))


def test_a_run_without_trial_id_starts_a_fresh_file(metric_file: Path) -> None:
    metric_file.parent.mkdir(parents=True)
    metric_file.write_text(_old_line("0", 1) + "\n")
    report_metric(0.9, tag="m", step=1)
    assert [x["m"] for x in read_lines(metric_file)] == ["0.9"]


_RESTART_CHILD = """
import sys
from vertex_hydra import report_metric
from vertex_hydra.report import last_step
start = (last_step() or 0) + 1
for step in range(start, start + 3):
    report_metric(step / 10, tag="m", step=step)
"""


def test_a_restarted_process_keeps_the_reports_before_the_restart(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _VERTEX_ENV}
    path = tmp_path / "hypertune" / "output.metrics"
    env.update(CLOUD_ML_HP_METRIC_FILE=str(path), CLOUD_ML_TRIAL_ID="3")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _RESTART_CHILD], env=env, check=True, timeout=60)
    assert [(x["global_step"], x["m"], x["trial"]) for x in read_lines(path)] == [
        (str(s), str(s / 10), "3") for s in range(1, 7)
    ]


def test_only_the_chief_counts_the_kept_lines(
    metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vertex_hydra.report import last_step

    metric_file.parent.mkdir(parents=True)
    metric_file.write_text(_old_line("5", 9) + "\n")
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "5")
    assert last_step() == 9
    monkeypatch.setenv("LOCAL_RANK", "1")  # a DDP rank that never writes the file
    assert last_step() is None
