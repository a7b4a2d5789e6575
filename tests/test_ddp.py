"""The issue's "Done when": a template-shaped Hydra app, run as a Vertex trial in a subprocess.

The app (written into ``tmp_path``) has the lightning-hydra-template shape:
``model/``, ``data/``, ``trainer/`` and ``callbacks/`` groups, metric ``val/acc``,
``ModelCheckpoint(monitor="val/acc", mode="max")`` and the callback added by
``_target_``, and ``train.py`` decorated with ``@vertex_compatible``. It gets
Vertex-style arguments and ``CLOUD_ML_TRIAL_ID``/``CLOUD_ML_HP_METRIC_TAG``.
Under ``strategy=ddp devices=2`` Lightning re-launches the script for rank 1
with the (translated) argv plus ``hydra.run.dir=...``: the decorator must
survive that, and only rank 0 may write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vertex_hydra._compat import available_namespaces
from vertex_hydra.local.replicas import DISTRIBUTED_VARIABLES

pytest.importorskip("torch")

TRAIN = """
import json, os, sys
import hydra
from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg):
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    callbacks = [hydra.utils.instantiate(c) for c in cfg.callbacks.values()]
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks)
    trainer.fit(model, datamodule=datamodule)
    record = {"lr": cfg.model.lr, "batch_size": cfg.data.batch_size, "argv": sys.argv,
              "world_size": trainer.world_size, "is_global_zero": trainer.is_global_zero}
    path = os.path.join(os.environ["APP_RECORD_DIR"], f"rank{trainer.global_rank}.json")
    with open(path, "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main()
"""

MODEL = """
import torch
import {ns} as L


class BlobsDataModule(L.LightningDataModule):
    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size  # must already be an int: the decorator converts 16.0

    def setup(self, stage=None):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(256, 8, generator=g)
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
        self.train_set = torch.utils.data.TensorDataset(x[:192], y[:192])
        self.val_set = torch.utils.data.TensorDataset(x[192:], y[192:])

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.train_set, batch_size=self.batch_size)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(self.val_set, batch_size=64)


class Classifier(L.LightningModule):
    def __init__(self, lr, width):
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(torch.nn.Linear(8, width), torch.nn.ReLU(), torch.nn.Linear(width, 2))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        acc = (self.net(x).argmax(1) == y).float().mean()
        self.log("val/acc", acc, sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)
"""

CONFIGS = {
    "train.yaml": "defaults:\n  - data: blobs\n  - model: mlp\n  - callbacks: default\n"
    "  - trainer: default\n  - _self_\n",
    "data/blobs.yaml": "_target_: app_model.BlobsDataModule\nbatch_size: 32\n",
    "model/mlp.yaml": "_target_: app_model.Classifier\nlr: 0.01\nwidth: 16\n",
    "callbacks/default.yaml": """
model_checkpoint:
  _target_: {ns}.callbacks.ModelCheckpoint
  dirpath: ${{hydra:runtime.output_dir}}/checkpoints
  monitor: val/acc
  mode: max
hypertune:
  _target_: vertex_hydra.HypertuneCallback
""",
    "trainer/default.yaml": """
_target_: {ns}.Trainer
default_root_dir: ${{hydra:runtime.output_dir}}
accelerator: cpu
strategy: auto
devices: 1
max_epochs: 3
logger: false
enable_progress_bar: false
enable_model_summary: false
""",
}


def write_app(root: Path, namespace: str) -> Path:
    app = root / "app"
    (app / "configs").mkdir(parents=True)
    (app / "train.py").write_text(TRAIN)
    (app / "app_model.py").write_text(MODEL.format(ns=namespace))
    for name, text in CONFIGS.items():
        path = app / "configs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(ns=namespace))
    return app


def run_trial(
    cwd: Path, argv: list[str], tmp_path: Path, trial: str = "42", tag: str = "val/acc"
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Run ``python <argv>`` as a Vertex trial would; return the metric lines and per-rank records."""
    records = tmp_path / "records"
    records.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in DISTRIBUTED_VARIABLES and not k.startswith("CLOUD_ML_")
    }
    env.update(
        CLOUD_ML_TRIAL_ID=trial,
        CLOUD_ML_HP_METRIC_TAG=tag,
        CLOUD_ML_HP_METRIC_FILE=str(tmp_path / "hypertune" / "output.metrics"),
        APP_RECORD_DIR=str(records),
        OMP_NUM_THREADS="1",  # two ranks on two cores
    )
    result = subprocess.run(
        [sys.executable, *argv, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    metric_file = tmp_path / "hypertune" / "output.metrics"
    lines = [json.loads(line) for line in metric_file.read_text().splitlines()]
    ranks = {int(p.stem[4:]): json.loads(p.read_text()) for p in records.glob("rank*.json")}
    return lines, ranks


def assert_done_when(lines: list[dict[str, Any]], epochs: int, trial: str = "42") -> None:
    """One line per validation epoch, then one holding the best, in hypertune's exact format."""
    assert len(lines) == epochs + 1
    for line in lines:
        assert set(line) == {"checkpoint_path", "global_step", "timestamp", "trial", "val/acc"}
        assert line["trial"] == trial
        assert isinstance(line["timestamp"], float)
        assert isinstance(line["global_step"], str) and int(line["global_step"]) > 0
        assert 0.0 <= float(line["val/acc"]) <= 1.0
    *epoch_lines, final = lines
    steps = [int(line["global_step"]) for line in epoch_lines]
    assert steps == sorted(set(steps))  # one line per epoch, increasing
    assert all(line["checkpoint_path"] == "" for line in epoch_lines)
    assert final["val/acc"] == max((line["val/acc"] for line in epoch_lines), key=float)
    assert int(final["global_step"]) == steps[-1] + 1  # strictly the last measurement
    assert Path(final["checkpoint_path"]).is_file()  # the best checkpoint


VERTEX_ARGS = ["--model.lr=0.05", "--data.batch_size", "16.0", "--model.width=32.0"]


@pytest.mark.slow
@pytest.mark.parametrize("namespace", available_namespaces())
def test_template_app_as_a_vertex_trial(namespace: str, tmp_path: Path) -> None:
    app = write_app(tmp_path, namespace)
    lines, ranks = run_trial(app, ["train.py", "trainer.max_epochs=3", *VERTEX_ARGS], tmp_path)
    assert_done_when(lines, epochs=3)
    assert [int(line["global_step"]) for line in lines[:-1]] == [12, 24, 36]  # 192 / 16 per epoch
    assert ranks[0]["batch_size"] == 16 and ranks[0]["lr"] == 0.05


@pytest.mark.slow
def test_template_app_under_two_process_ddp(tmp_path: Path) -> None:
    namespace = available_namespaces()[0]
    app = write_app(tmp_path, namespace)
    argv = [
        "train.py",
        "trainer.strategy=ddp",
        "trainer.devices=2",
        "trainer.max_epochs=2",
        *VERTEX_ARGS,
    ]
    lines, ranks = run_trial(app, argv, tmp_path)

    assert sorted(ranks) == [0, 1]  # both ranks trained ...
    assert [ranks[r]["is_global_zero"] for r in (0, 1)] == [True, False]
    assert all(
        r["world_size"] == 2 and r["batch_size"] == 16 and r["lr"] == 0.05 for r in ranks.values()
    )
    # ... rank 1 was re-launched by Lightning with Hydra-style argv, and the decorator coped.
    assert "hydra.job.name=train_ddp_process_1" in ranks[1]["argv"]
    assert "data.batch_size=16" in ranks[1]["argv"]
    # ... yet the file holds exactly one line per report: 2 epochs + final.
    assert_done_when(lines, epochs=2)
    assert [int(line["global_step"]) for line in lines[:-1]] == [6, 12]  # 96 samples per rank / 16
