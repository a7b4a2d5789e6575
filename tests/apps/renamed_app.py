"""Fixture: the plain app mapping the short parameter id 'lr' onto model.lr."""

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible(rename={"lr": "model.lr"})
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    print("TRAINING", cfg.model.lr)


if __name__ == "__main__":
    main()
