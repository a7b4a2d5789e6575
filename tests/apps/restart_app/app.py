"""A Lightning trial that a test kills and restarts: one optimizer step per epoch, so epoch N is step N.

It logs ``val/acc`` = ACC[N - 1] at epoch N (best at epoch 2, before the test's kill), saves ``last.ckpt`` under ``AIP_CHECKPOINT_DIR``
each epoch, reports through ``HypertuneCallback``, and resumes from
``${vertex_hydra.last_checkpoint:}``.
"""

import importlib
import os
import signal
from typing import Any

import hydra
import torch
from omegaconf import DictConfig

import vertex_hydra
from vertex_hydra._compat import available_namespaces

pl: Any = importlib.import_module(available_namespaces()[0])


#: Eighths, exact in float32; the best (7/8) comes before the restart.
ACC = [2 / 8, 7 / 8, 4 / 8, 3 / 8, 5 / 8, 4 / 8]


class Model(pl.LightningModule):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val/acc", ACC[self.current_epoch])

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self) -> Any:
        data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
        return torch.utils.data.DataLoader(data, batch_size=8)

    val_dataloader = train_dataloader


class Preempt(pl.Callback):  # type: ignore[misc]
    def __init__(self, after: int | None) -> None:
        self.after = after

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.after is not None and trainer.current_epoch + 1 == self.after:
            os.kill(os.getpid(), signal.SIGKILL)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    checkpoints = pl.callbacks.ModelCheckpoint(
        dirpath=os.environ["AIP_CHECKPOINT_DIR"], save_last=True
    )
    hypertune = vertex_hydra.HypertuneCallback(monitor="val/acc", mode="max")
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=cfg.max_epochs,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[checkpoints, hypertune, Preempt(cfg.preempt_after)],
    )
    print(f"ckpt_path={cfg.ckpt_path}", flush=True)
    trainer.fit(Model(), ckpt_path=cfg.ckpt_path)


if __name__ == "__main__":
    main()
