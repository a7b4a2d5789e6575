"""``${vertex_hydra.last_checkpoint:}``: the newest checkpoint under AIP_CHECKPOINT_DIR, or null."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import vertex_hydra  # noqa: F401 - registers the resolvers
from vertex_hydra.resolvers import LAST_CHECKPOINT, gcs_fuse_path, last_checkpoint

APP = Path(__file__).parent / "apps" / "ckpt_app" / "app.py"


def _touch(path: Path, mtime: float, data: bytes = b"weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def _resolved(monkeypatch: pytest.MonkeyPatch, folder: str | None) -> object:
    if folder is None:
        monkeypatch.delenv("AIP_CHECKPOINT_DIR", raising=False)
    else:
        monkeypatch.setenv("AIP_CHECKPOINT_DIR", folder)
    return OmegaConf.create({"ckpt": "${" + LAST_CHECKPOINT + ":}"}).ckpt


def test_unset_missing_or_empty_folder_gives_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _resolved(monkeypatch, None) is None
    assert _resolved(monkeypatch, str(tmp_path / "absent")) is None
    assert _resolved(monkeypatch, str(tmp_path)) is None
    _touch(tmp_path / "partial.ckpt", 1000.0, data=b"")  # a save cut short: empty
    _touch(tmp_path / "notes.txt", 2000.0)
    assert _resolved(monkeypatch, str(tmp_path)) is None


def test_newest_checkpoint_wins_in_any_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path / "epoch=0-step=8.ckpt", 1000.0)
    newest = _touch(tmp_path / "run" / "epoch=2-step=24.ckpt", 3000.0)
    _touch(tmp_path / "epoch=1-step=16.ckpt", 2000.0)
    assert _resolved(monkeypatch, str(tmp_path)) == str(newest)


def test_last_ckpt_wins_a_tie(tmp_path: Path) -> None:
    _touch(tmp_path / "epoch=3.ckpt", 5000.0)
    last = _touch(tmp_path / "last.ckpt", 5000.0)
    assert last_checkpoint(tmp_path) == str(last)


def test_an_argument_names_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIP_CHECKPOINT_DIR", str(tmp_path / "elsewhere"))
    mine = _touch(tmp_path / "mine" / "a.ckpt", 10.0)
    config = OmegaConf.create({"ckpt": "${" + LAST_CHECKPOINT + ":" + str(mine.parent) + "}"})
    assert config.ckpt == str(mine)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("gs://bucket/hpt/7/checkpoints/", "/gcs/bucket/hpt/7/checkpoints/"),
        ("gs://b", "/gcs/b"),
        ("/local/dir", "/local/dir"),
        ("relative/dir", "relative/dir"),
    ],
)
def test_gcs_locations_read_through_the_fuse_mount(location: str, expected: str) -> None:
    assert gcs_fuse_path(location) == expected


@pytest.mark.slow
def test_a_real_hydra_app_resolves_it_from_the_trial_environment(tmp_path: Path) -> None:
    checkpoint = _touch(tmp_path / "ckpt" / "last.ckpt", 100.0)

    def run(extra_env: dict[str, str]) -> str:
        env = {k: v for k, v in os.environ.items() if k != "AIP_CHECKPOINT_DIR"}
        env.update(extra_env)
        out = subprocess.run(
            [sys.executable, str(APP), "--lr=0.5", f"hydra.run.dir={tmp_path / 'out'}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return out.stdout.strip().splitlines()[-1]

    assert run({}) == "ckpt_path=None"
    assert run({"AIP_CHECKPOINT_DIR": str(tmp_path / "ckpt") + "/"}) == f"ckpt_path={checkpoint}"


RESTART_APP = Path(__file__).parent / "apps" / "restart_app" / "app.py"


@pytest.mark.slow
def test_a_restarted_trial_resumes_and_its_metric_file_keeps_every_report(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    import json

    metric_file = tmp_path / "hypertune" / "output.metrics"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLOUD_ML_", "AIP_")) and k not in ("VERTEX_HYDRA_STUDY", "RANK")
    }
    env.update(
        CLOUD_ML_TRIAL_ID="12",
        CLOUD_ML_HP_METRIC_FILE=str(metric_file),
        AIP_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
    )

    def run(*overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(RESTART_APP), f"hydra.run.dir={tmp_path / 'out'}", *overrides],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = run("max_epochs=6", "preempt_after=3")  # the VM goes away after epoch 3
    assert first.returncode == -9, first.stderr
    assert "ckpt_path=None" in first.stdout
    before = [json.loads(line) for line in metric_file.read_text().splitlines()]
    assert [line["global_step"] for line in before] == ["1", "2", "3"]

    second = run("max_epochs=6")  # Vertex starts the same trial again
    assert second.returncode == 0, second.stderr
    assert f"ckpt_path={tmp_path / 'checkpoints' / 'last.ckpt'}" in second.stdout
    lines = [json.loads(line) for line in metric_file.read_text().splitlines()]
    eighths = [2, 7, 4, 3, 5, 4]  # the app's val/acc, in eighths, epochs 1 to 6
    assert [(line["global_step"], line["val/acc"], line["trial"]) for line in lines] == [
        *[(str(step), str(e / 8), "12") for step, e in enumerate(eighths, start=1)],
        # Fit end, one step past the last: the best of both processes, reached before the kill.
        ("7", "0.875", "12"),
    ]
    assert lines[:3] == before  # the reports from before the restart, unchanged


_AFTER = """
import sys
import vertex_hydra
print("omegaconf" in sys.modules)
from omegaconf import OmegaConf
print(OmegaConf.create({"ckpt": "${vertex_hydra.last_checkpoint:%s}"}).ckpt)
"""
_BEFORE = """
from omegaconf import OmegaConf
import vertex_hydra
print(OmegaConf.create({"ckpt": "${vertex_hydra.last_checkpoint:%s}"}).ckpt)
"""


@pytest.mark.parametrize("order", ["vertex_hydra first", "omegaconf first"])
def test_the_resolver_is_there_whichever_is_imported_first(tmp_path: Path, order: str) -> None:
    """``import vertex_hydra`` leaves OmegaConf unloaded; OmegaConf's import then registers it."""
    checkpoint = _touch(tmp_path / "epoch=3.ckpt", 100.0)
    code = (_AFTER if order == "vertex_hydra first" else _BEFORE) % tmp_path
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    if order == "vertex_hydra first":
        assert out[0] == "False"  # importing vertex-hydra did not import OmegaConf
    assert out[-1] == str(checkpoint)
