"""Fixture: a structured (dataclass) config whose types reject some values."""

import dataclasses
import enum

import hydra
from hydra.core.config_store import ConfigStore

from vertex_hydra import vertex_compatible


class Activation(enum.Enum):
    RELU = "relu"
    GELU = "gelu"


@dataclasses.dataclass
class ModelConfig:
    act: Activation = Activation.RELU
    depth: int = 2
    lr: float = 1e-3


@dataclasses.dataclass
class DataConfig:
    batch_size: int = 32


@dataclasses.dataclass
class TrainConfig:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)


ConfigStore.instance().store(name="typed", node=TrainConfig)


@vertex_compatible
@hydra.main(version_base=None, config_name="typed")
def main(cfg: TrainConfig) -> None:
    print("TRAINING", cfg.model.act)


if __name__ == "__main__":
    main()
