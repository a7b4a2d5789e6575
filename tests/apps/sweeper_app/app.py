"""Fixture for tests/test_sweeper.py: a template-shaped Hydra app tuned by ``hydra/sweeper: vertex``.

It reports ``score`` with the real hypertune writer and appends one JSON line
per trial to ``cfg.log`` (the values and their Python types, argv, cwd).
``act=crash`` (or ``model.depth`` equal to ``crash_depth``) exits 3; ``sleep`` slows a trial down (for Ctrl-C tests).
"""

import json
import os
import sys
import time

ARGV = list(sys.argv[1:])

import hydra
import hypertune
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    if cfg.log:
        entry = {
            "trial": os.environ.get("CLOUD_ML_TRIAL_ID"),
            "argv": ARGV,
            "cwd": os.getcwd(),
            "run_dir": HydraConfig.get().runtime.output_dir,
            "mode": str(HydraConfig.get().mode),
            "values": {k: [cfg.model[k], type(cfg.model[k]).__name__] for k in cfg.model},
            "act": cfg.act,
            "optim": cfg.optim.name,
        }
        with open(cfg.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    if cfg.act == "crash" or cfg.crash_depth == cfg.model.depth:
        sys.stderr.write("RuntimeError: the fixture crashed on purpose\n")
        sys.exit(3)
    time.sleep(float(cfg.sleep))
    score = 1.0 - (float(cfg.model.lr) - 0.01) ** 2 - 0.01 * (int(cfg.model.depth) - 3) ** 2
    hypertune.HyperTune().report_hyperparameter_tuning_metric("score", score, global_step=1)
    return score


if __name__ == "__main__":
    main()
