"""A lightning-hydra-template-shaped trial app that trains on several Vertex replicas.

Each process records where Lightning placed it (``APP_RECORD_DIR/process-<pid>.json``)
when training starts and again when fit ends, so a test can tell a correct
world (unique global ranks, world size ``num_nodes * devices``) from a wrong one.
The Lightning namespace is ``MULTINODE_APP_LIGHTNING`` (default ``lightning.pytorch``).
"""

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> None:
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    callbacks = [hydra.utils.instantiate(c) for c in cfg.callbacks.values()]
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks)
    trainer.fit(model, datamodule=datamodule)


if __name__ == "__main__":
    main()
