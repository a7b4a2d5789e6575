"""A trial app behind a wrapper script, for tests/test_local_faults.py (no Hydra, no torch).

Its arguments are ``key=value`` (``--key=value`` also), with ``pids=<folder>``,
``sleep=<seconds>`` and the tuned ``x``. It writes its pid to ``<pids>/<pid>``,
sleeps, reports ``score = x`` with the real hypertune writer and appends its
trial id to ``<pids>/finished.txt``.
"""

import os
import sys
import time
from pathlib import Path

import hypertune

args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:] if "=" in a)
pids = Path(args["pids"])
pids.mkdir(parents=True, exist_ok=True)
(pids / str(os.getpid())).write_text(os.environ.get("CLOUD_ML_TRIAL_ID", ""))
# FAULTS_APP_SLEEP (inherited through the runner) overrides the job file, so one
# study can hang in its first run and finish quickly on --resume.
time.sleep(float(os.environ.get("FAULTS_APP_SLEEP") or args.get("sleep", "0")))
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=float(args["x"]), global_step=1
)
with open(pids / "finished.txt", "a") as out:
    out.write(os.environ.get("CLOUD_ML_TRIAL_ID", "") + "\n")
