"""A plain Hydra app decorated with @vertex_compatible, used by the subprocess tests."""

import json
import os
import subprocess
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from vertex_hydra import vertex_compatible

ARGV_AT_IMPORT = sys.argv


@vertex_compatible
@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """Print the composed config as one JSON line, and optionally re-launch like Lightning's DDP."""
    record = {
        "cfg": OmegaConf.to_container(cfg, resolve=True),
        "argv": sys.argv[1:],
        "same_argv_object": sys.argv is ARGV_AT_IMPORT,
        "rank": os.environ.get("VH_TEST_RANK", "0"),
    }
    print("VH_RESULT=" + json.dumps(record), flush=True)
    log = os.environ.get("VH_TEST_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")
    if os.environ.get("VH_TEST_RELAUNCH") and os.environ.get("VH_TEST_RANK") is None:
        # Build the child command with Lightning's own DDP launcher code.
        from lightning.fabric.strategies.launchers.subprocess_script import _hydra_subprocess_cmd

        command, cwd = _hydra_subprocess_cmd(local_rank=1)
        env = dict(os.environ, VH_TEST_RANK="1")
        subprocess.run(command, cwd=cwd, env=env, check=True)


if __name__ == "__main__":
    main()
    print("VH_ARGV_AFTER=" + json.dumps(sys.argv[1:]), flush=True)
