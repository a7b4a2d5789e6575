"""Train the digits classifier; runnable as a Vertex AI hyperparameter-tuning trial.

Run it from this folder (``examples/digits``), which is the working directory the
job's ``command: [python, train.py]`` assumes:

    python train.py --model.optimizer.lr=0.003 --data.batch_size=64.0 \
        --model.hidden_layers=2.0 --model.activation=gelu
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Build data, model, callbacks and trainer from ``cfg`` and fit; return the best ``val/acc``."""
    import lightning.pytorch as L

    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    callbacks = [hydra.utils.instantiate(c) for c in cfg.get("callbacks", {}).values()]
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=False)
    trainer.fit(model, datamodule=datamodule)
    best = trainer.checkpoint_callback.best_model_score if trainer.checkpoint_callback else None
    return None if best is None else float(best)


if __name__ == "__main__":
    main()
