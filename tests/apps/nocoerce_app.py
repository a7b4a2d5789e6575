"""Fixture: the plain app with coerce_integral_floats=False (64.0 stays a float)."""

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible(coerce_integral_floats=False)
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    print("TRAINING", cfg.data.batch_size)


if __name__ == "__main__":
    main()
