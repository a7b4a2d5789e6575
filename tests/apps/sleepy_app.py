"""Fixture: an app whose import takes far longer than check's --timeout in the tests."""

import time

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible

time.sleep(60)


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    print("TRAINING", cfg)


if __name__ == "__main__":
    main()
