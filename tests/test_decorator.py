"""``@vertex_compatible`` on a real Hydra app, started exactly as Vertex AI starts it."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from vertex_hydra import vertex_compatible
from vertex_hydra.decorator import TRACE_ENV
from vertex_hydra.study_env import STUDY_ENV, StudyEnvWarning, encode_study

APPS = Path(__file__).parent / "apps"
TRAIN = APPS / "vh_app" / "train.py"


def run_app(
    args: list[str],
    cwd: Path,
    *,
    module: bool = False,
    env: dict[str, str] | None = None,
    expect: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Start the app as Vertex does: exec form, no shell, one argv token per value."""
    target = ["-m", "vh_app.train"] if module else [str(TRAIN)]
    full_env = dict(os.environ, PYTHONPATH=str(APPS), HYDRA_FULL_ERROR="0", **(env or {}))
    proc = subprocess.run(
        [sys.executable, *target, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == expect, proc.stderr[-3000:]
    return proc


def results(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("VH_RESULT=")]
    return [json.loads(line[len("VH_RESULT=") :]) for line in lines]


NASTY = {
    "model.act": "gelu new",
    "name": "it's a=b, [x] ü ${oc.env:HOME} \\'q\\",
    "data.batch_size": "64.0",
    "model.optimizer.lr": "1e-05",
    "model.depth": "-3",
}


@pytest.mark.slow
def test_vertex_argv_reaches_the_config_exactly(tmp_path: Path) -> None:
    args = ["name=user_default"] + [f"--{k}={v}" for k, v in NASTY.items()] + ["--flag"]
    [record] = results(run_app(args, tmp_path))
    cfg = record["cfg"]
    assert cfg["model"]["act"] == "gelu new"
    assert cfg["name"] == NASTY["name"]  # the Vertex value after the user's default wins
    assert cfg["data"]["batch_size"] == 64 and type(cfg["data"]["batch_size"]) is int
    assert cfg["model"]["optimizer"]["lr"] == 1e-05
    assert cfg["model"]["depth"] == -3
    assert cfg["flag"] is True
    assert record["same_argv_object"] is True


@pytest.mark.slow
def test_two_token_form_and_config_name(tmp_path: Path) -> None:
    args = ["--config-name=alt", "--data.batch_size", "128.0", "--model.optimizer.lr", "-0.5"]
    [record] = results(run_app(args, tmp_path))
    assert record["cfg"]["name"] == "alt"
    assert record["cfg"]["data"]["batch_size"] == 128
    assert record["cfg"]["model"]["optimizer"]["lr"] == -0.5


@pytest.mark.slow
def test_python_dash_m_resolves_relative_config_path(tmp_path: Path) -> None:
    [record] = results(run_app(["--model.act=tanh"], tmp_path, module=True))
    assert record["cfg"]["model"]["act"] == "tanh"


@pytest.mark.slow
def test_sys_argv_is_restored_after_the_call(tmp_path: Path) -> None:
    proc = run_app(["--data.batch_size=64.0", "--cfg", "job"], tmp_path)
    after = next(line for line in proc.stdout.splitlines() if line.startswith("VH_ARGV_AFTER="))
    assert json.loads(after[len("VH_ARGV_AFTER=") :]) == ["--data.batch_size=64.0", "--cfg", "job"]


@pytest.mark.slow
def test_cfg_job_prints_translated_values(tmp_path: Path) -> None:
    proc = run_app(["--data.batch_size=64.0", "--cfg", "job", "--model.act=a,b"], tmp_path)
    printed = OmegaConf.create(proc.stdout.split("VH_ARGV_AFTER=")[0])
    assert printed.data.batch_size == 64
    assert printed.model.act == "a,b"
    assert results(proc) == []  # --cfg prints and does not run the task


@pytest.mark.slow
def test_help_passes_through(tmp_path: Path) -> None:
    proc = run_app(["--help", "--data.batch_size=64.0"], tmp_path)
    assert "Powered by Hydra" in proc.stdout
    assert "batch_size: 64" in proc.stdout


@pytest.mark.slow
def test_multirun_with_vertex_arguments(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    run_app(
        ["--multirun", "model.act=relu,tanh", "--data.batch_size=64.0"],
        tmp_path,
        env={"VH_TEST_LOG": str(log)},
    )
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["cfg"]["model"]["act"] for r in records) == ["relu", "tanh"]
    assert {r["cfg"]["data"]["batch_size"] for r in records} == {64}


@pytest.mark.slow
def test_survives_lightnings_ddp_relaunch(tmp_path: Path) -> None:
    """The child gets the translated argv plus hydra.run.dir=..., built by Lightning itself."""
    pytest.importorskip("lightning")
    log = tmp_path / "ranks.jsonl"
    args = ["--model.act=gelu new", "--data.batch_size=64.0", "--name=it's, odd"]
    run_app(args, tmp_path, env={"VH_TEST_LOG": str(log), "VH_TEST_RELAUNCH": "1"})
    records = {r["rank"]: r for r in map(json.loads, log.read_text().splitlines())}
    assert set(records) == {"0", "1"}
    assert records["0"]["cfg"] == records["1"]["cfg"]
    assert records["1"]["cfg"]["name"] == "it's, odd"
    assert any(a.startswith("hydra.run.dir=") for a in records["1"]["argv"])


@pytest.mark.slow
def test_translation_error_exits_2_like_argparse(tmp_path: Path) -> None:
    proc = run_app(["--data.batch_size=64.0", "--"], tmp_path, expect=2)
    assert proc.stderr.startswith("train.py: error: argument '--' is not supported")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_unknown_vertex_parameter_fails_before_training(tmp_path: Path) -> None:
    proc = run_app(["--model.optimiser.lr=0.1"], tmp_path, expect=1)
    assert "Could not override 'model.optimiser.lr'" in proc.stderr
    assert "+model.optimiser.lr=0.1" in proc.stderr  # Hydra names the fix
    assert results(proc) == [] and "Traceback" not in proc.stderr


def test_rewrites_sys_argv_in_place_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["train.py", "--lr=0.1", "--bs", "64.0", "--cfg", "job"]
    monkeypatch.setattr(sys, "argv", argv)
    seen: list[Any] = []

    @vertex_compatible(rename={"lr": "model.lr"})
    def app(x: int) -> int:
        seen.append((sys.argv is argv, list(sys.argv)))
        return x + 1

    assert app(1) == 2
    assert seen == [(True, ["train.py", "--cfg", "job", "model.lr=0.1", "bs=64"])]
    assert sys.argv is argv and argv == ["train.py", "--lr=0.1", "--bs", "64.0", "--cfg", "job"]


def test_restores_sys_argv_when_the_app_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["train.py", "--lr=0.1"]
    monkeypatch.setattr(sys, "argv", argv)

    @vertex_compatible
    def app() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        app()
    assert argv == ["train.py", "--lr=0.1"]


def test_keeps_name_doc_signature_and_wrapped() -> None:
    def train(cfg: Any = None) -> str:
        """Train the model."""
        return "done"

    bare = vertex_compatible(train)
    configured = vertex_compatible(coerce_integral_floats=False)(train)
    for wrapped in (bare, configured):
        assert wrapped.__wrapped__ is train  # type: ignore[attr-defined]
        assert wrapped.__name__ == "train" and wrapped.__doc__ == "Train the model."
        assert inspect.signature(wrapped) == inspect.signature(train)


def test_bad_argv_exits_2_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", "stray"])
    app = vertex_compatible(lambda: None)
    with pytest.raises(SystemExit) as info:
        app()
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "train.py: error: argument 'stray' is neither a Hydra override (key=value) nor a "
        "Vertex parameter (--key=value). Fix: write it as key=value or --key=value, or remove it.\n"
    )


def test_placed_below_hydra_main_is_a_clear_error() -> None:
    app = vertex_compatible(lambda cfg: None)
    with pytest.raises(TypeError, match=r"put @vertex_compatible directly ABOVE @hydra.main"):
        app(OmegaConf.create({"a": 1}))


STUDY_APP = APPS / "study_app.py"
TYPED_STUDY = encode_study(
    [("val/acc", "MAXIMIZE")],
    {
        "trainer.limit_train_batches": ("DOUBLE", ()),
        "tag": ("CATEGORICAL", ()),
        "data.batch_size": ("INTEGER", ()),
    },
)
STUDY_ARGS = ["--trainer.limit_train_batches=1.0", "--tag=007", "--data.batch_size=64.0"]


def run_study_app(
    args: list[str], cwd: Path, study: str | None, trace: Path | None = None
) -> dict[str, Any]:
    """Start ``study_app.py`` as Vertex does, with or without ``VERTEX_HYDRA_STUDY``."""
    env = {k: v for k, v in os.environ.items() if k not in {STUDY_ENV, TRACE_ENV}}
    if study is not None:
        env[STUDY_ENV] = study
    if trace is not None:
        env[TRACE_ENV] = str(trace)
    proc = subprocess.run(
        [sys.executable, str(STUDY_APP), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("VH_RESULT=")]
    cfg: dict[str, Any] = json.loads(line[len("VH_RESULT=") :])
    return cfg


@pytest.mark.slow
def test_study_types_reach_a_real_hydra_app(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    cfg = run_study_app(STUDY_ARGS, tmp_path, TYPED_STUDY, trace)
    limit = cfg["trainer"]["limit_train_batches"]
    assert type(limit) is float and limit == 1.0  # DOUBLE: the whole epoch, not one batch
    assert cfg["tag"] == "007"  # CATEGORICAL: Hydra's reading, not int 7
    batch = cfg["data"]["batch_size"]
    assert type(batch) is int and batch == 64  # INTEGER sent as a double
    record = json.loads(trace.read_text(encoding="utf-8"))
    assert record["value_types"] == {
        "trainer.limit_train_batches": "float",
        "tag": "text",
        "data.batch_size": "int",
    }


@pytest.mark.slow
def test_a_double_sent_as_an_int_becomes_a_float(tmp_path: Path) -> None:
    cfg = run_study_app(["--trainer.limit_train_batches=1"], tmp_path, TYPED_STUDY)
    limit = cfg["trainer"]["limit_train_batches"]
    assert type(limit) is float and limit == 1.0


@pytest.mark.slow
def test_without_the_study_the_text_rules_hold(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    cfg = run_study_app(STUDY_ARGS, tmp_path, None, trace)
    limit = cfg["trainer"]["limit_train_batches"]
    assert type(limit) is int and limit == 1  # '.0' text: the integral-float rule
    assert cfg["tag"] == "007"  # no '.' and no exponent: Hydra reads the string
    assert type(cfg["data"]["batch_size"]) is int and cfg["data"]["batch_size"] == 64
    assert json.loads(trace.read_text(encoding="utf-8"))["value_types"] is None


def test_types_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    @vertex_compatible
    def app() -> None:
        seen.append(sys.argv[1:])

    monkeypatch.setattr(sys, "argv", ["train.py", "--lr=1.0", "--tag=007"])
    monkeypatch.delenv(STUDY_ENV, raising=False)
    app()
    monkeypatch.setenv(STUDY_ENV, encode_study([], {"lr": ("DOUBLE", ()), "tag": ("INTEGER", ())}))
    app()
    assert seen == [["lr=1", "tag=007"], ["lr=1.0", "tag=7"]]


def test_unreadable_study_warns_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(sys, "argv", ["train.py", "--lr=1.0"])
    monkeypatch.setenv(STUDY_ENV, '{"version": 99}')
    app = vertex_compatible(lambda: seen.append(sys.argv[1:]))
    with pytest.warns(StudyEnvWarning, match=r"VERTEX_HYDRA_STUDY=.* is ignored: its version"):
        app()
    assert seen == [["lr=1"]]
