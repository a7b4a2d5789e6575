"""Fixture: a Hydra app that forgot @vertex_compatible."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    print("TRAINING", cfg.data.batch_size)


if __name__ == "__main__":
    main()
