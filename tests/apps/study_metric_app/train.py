"""A tiny Lightning app whose study metric (val/acc, MAXIMIZE) is not its checkpoint's (val/loss).

It logs scripted values, so a test knows what each trial must record: accuracies
0.5, 0.7, 0.6 (plus ``offset``) and losses that fall every epoch.
"""

import hydra
import lightning.pytorch as L
import torch
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible

ACC = [0.5, 0.7, 0.6]
LOSS = [0.9, 0.5, 0.1]


class Scripted(L.LightningModule):
    def __init__(self, offset: float) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.offset = offset

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self.log("val/acc", ACC[self.current_epoch] + self.offset)
        self.log("val/loss", LOSS[self.current_epoch])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
        return torch.utils.data.DataLoader(data, batch_size=8)

    val_dataloader = train_dataloader


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    callbacks = [hydra.utils.instantiate(c) for c in cfg.callbacks.values()]
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=len(ACC),
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(Scripted(float(cfg.offset)))


if __name__ == "__main__":
    main()
