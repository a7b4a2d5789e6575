"""Model and data for the digits example: an MLP on scikit-learn's bundled 8x8 digits.

The data ships with scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as L
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def _as_dataset(x: Any, y: Any) -> TensorDataset:
    return TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long))


class DigitsDataModule(L.LightningDataModule):
    """The 1797 digits images (64 pixels, 10 classes), split into train and validation sets."""

    def __init__(self, batch_size: int = 64, val_fraction: float = 0.25, seed: int = 0) -> None:
        super().__init__()
        # Vertex sends DISCRETE/INTEGER values as doubles ("64.0"); a DataLoader
        # needs an int, so accept any integral number.
        self.batch_size = int(batch_size)
        self.val_fraction = val_fraction
        self.seed = seed

    def setup(self, stage: str | None = None) -> None:
        x, y = load_digits(return_X_y=True)
        x_train, x_val, y_train, y_val = train_test_split(
            x / 16.0, y, test_size=self.val_fraction, random_state=self.seed, stratify=y
        )
        self.train_set = _as_dataset(x_train, y_train)
        self.val_set = _as_dataset(x_val, y_val)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=256)


class DigitsClassifier(L.LightningModule):
    """A multilayer perceptron that logs ``train/loss``, ``val/loss`` and ``val/acc``."""

    def __init__(
        self,
        optimizer: Any,
        hidden_layers: int = 1,
        width: int = 64,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"model.activation={activation!r}: expected one of {sorted(_ACTIVATIONS)}."
            )
        layers: list[nn.Module] = []
        size = 64
        for _ in range(int(hidden_layers)):
            layers += [nn.Linear(size, int(width)), _ACTIVATIONS[activation]()]
            size = int(width)
        self.net = nn.Sequential(*layers, nn.Linear(size, 10))
        self.optimizer = optimizer  # a functools.partial from Hydra (_partial_: true)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val/loss", nn.functional.cross_entropy(logits, y), sync_dist=True)
        self.log("val/acc", (logits.argmax(dim=1) == y).float().mean(), sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer(params=self.parameters())
