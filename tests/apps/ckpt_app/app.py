"""A Hydra app whose config resumes from ``${vertex_hydra.last_checkpoint:}``; prints it."""

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    print(f"ckpt_path={cfg.ckpt_path}")


if __name__ == "__main__":
    main()
