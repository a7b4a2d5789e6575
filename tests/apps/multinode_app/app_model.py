"""Data, model and a recording callback of the multinode test app, in either Lightning namespace."""

import importlib
import json
import os
import sys
import time

import torch

L = importlib.import_module(os.environ.get("MULTINODE_APP_LIGHTNING", "lightning.pytorch"))


class BlobsDataModule(L.LightningDataModule):
    def __init__(self, batch_size: int) -> None:
        super().__init__()
        self.batch_size = batch_size

    def setup(self, stage: str | None = None) -> None:
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
    def __init__(self, lr: float, width: int) -> None:
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(
            torch.nn.Linear(8, width), torch.nn.ReLU(), torch.nn.Linear(width, 2)
        )

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        acc = (self.net(x).argmax(1) == y).float().mean()
        self.log("val/acc", acc, sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class RecordWorld(L.Callback):
    """Write where Lightning placed this process, at train start and at fit end."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder

    def _write(self, trainer, event: str) -> None:
        if not self.folder:
            return
        record = {
            "event": event,
            "time": time.time(),
            "pid": os.getpid(),
            "global_rank": trainer.global_rank,
            "local_rank": trainer.local_rank,
            "node_rank": trainer.node_rank,
            "world_size": trainer.world_size,
            "num_nodes": trainer.num_nodes,
            "environment": type(trainer.strategy.cluster_environment).__name__,
            "global_step": trainer.global_step,
            "argv": sys.argv,
        }
        path = os.path.join(self.folder, f"process-{os.getpid()}.{event}.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(record, handle)

    def on_train_start(self, trainer, pl_module) -> None:
        self._write(trainer, "start")

    def on_fit_end(self, trainer, pl_module) -> None:
        self._write(trainer, "end")
