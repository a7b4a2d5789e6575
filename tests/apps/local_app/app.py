"""A fast plain-Hydra trial app for the local runner's tests (no torch).

It reports with the real ``hypertune.HyperTune`` writer. ``act`` selects
misbehaviour: ``crash`` exits 3 with a message on stderr, ``silent`` reports
nothing, ``diverge`` reports NaN. Each log entry has ``time`` (wall clock); the
start entry also has ``began``, the wall time of this file's first line.
"""

import time

BEGAN = time.time()  # before every import: the trial's own run starts here

import json
import os
import sys

# Recorded before @vertex_compatible rewrites sys.argv: the argv exactly as started.
ARGV = list(sys.argv[1:])

import hydra
import hypertune
from omegaconf import DictConfig

from vertex_hydra import vertex_compatible

ENV_KEYS = (
    "CLOUD_ML_TRIAL_ID",
    "CLOUD_ML_HP_METRIC_FILE",
    "CLOUD_ML_HP_METRIC_TAG",
    "CLOUD_ML_JOB_ID",
    "AIP_MODEL_DIR",
    "AIP_CHECKPOINT_DIR",
    "AIP_TENSORBOARD_LOG_DIR",
)


def _log(cfg: DictConfig, event: str, **extra: object) -> None:
    if cfg.log:
        entry = {
            "event": event,
            "trial": os.environ.get("CLOUD_ML_TRIAL_ID"),
            "pid": os.getpid(),
            "x": cfg.x,
            "n": cfg.n,
            "act": cfg.act,
            "time": time.time(),
            **extra,
        }
        with open(cfg.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def score(cfg: DictConfig) -> float:
    return 1.0 - (float(cfg.x) - 0.3) ** 2 - 0.01 * (int(cfg.n) - 3) ** 2


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    _log(
        cfg,
        "start",
        began=BEGAN,
        argv=ARGV,
        cwd=os.getcwd(),
        env={k: os.environ.get(k) for k in ENV_KEYS},
    )
    if cfg.act == "crash":
        sys.stderr.write("RuntimeError: the fixture crashed on purpose\n")
        sys.exit(3)
    writer = hypertune.HyperTune()
    for step in range(1, int(cfg.steps) + 1):
        time.sleep(float(cfg.sleep))
        if cfg.act == "silent":
            continue
        shape = {
            "rising": step / cfg.steps,
            "falling": (cfg.steps + 1 - step) / cfg.steps,
            "peak": 1.0 - abs(step - (cfg.steps + 1) / 2) / cfg.steps,
        }[cfg.curve]
        for tag in cfg.metrics:
            value = (
                float("nan")
                if cfg.act == "diverge"
                else (score(cfg) * shape if tag == "score" else float(cfg.n) + float(cfg.x))
            )
            writer.report_hyperparameter_tuning_metric(tag, value, global_step=step)
    _log(cfg, "end")


if __name__ == "__main__":
    main()
