"""Fixture: a plain-YAML Hydra app that prints what each config field received, with its type."""

import json

import hydra
from omegaconf import DictConfig, OmegaConf

from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="study")
def main(cfg: DictConfig) -> None:
    """Print the composed config as one JSON line (JSON keeps 1.0 apart from 1)."""
    print("VH_RESULT=" + json.dumps(OmegaConf.to_container(cfg, resolve=True)), flush=True)


if __name__ == "__main__":
    main()
