"""Fixture: a plain-YAML Hydra app with @vertex_compatible that prints at import."""

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible

# Something an app may print before Hydra's config dump; check must skip it.
print("loading plain_app: ready")


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    print("TRAINING", cfg.data.batch_size)


if __name__ == "__main__":
    main()
