"""Backend ``local``: the study engine runs the job, with the sweep dir as its workdir."""

from __future__ import annotations

import atexit
import gc
import importlib.util
import sys
from pathlib import Path
from typing import Any, TextIO

from omegaconf import DictConfig, OmegaConf

from vertex_hydra.errors import MissingDependencyError
from vertex_hydra.jobspec import JobSpec, ParameterSpec
from vertex_hydra.local.progress import Console
from vertex_hydra.results import StudyResults, TrialResult

__all__ = ["run_local", "optimization_results"]


def _typed(spec: ParameterSpec, value: float | str) -> Any:
    if spec.kind == "INTEGER":
        return int(float(value))
    if spec.kind == "DISCRETE":
        return next((v for v in spec.values if float(v) == float(value)), value)
    return value


def _params(results: StudyResults, trial: TrialResult) -> dict[str, Any]:
    return {
        p.parameter_id: _typed(p, trial.parameters[p.parameter_id])
        for p in results.parameters
        if p.parameter_id in trial.parameters
    }


def optimization_results(results: StudyResults) -> dict[str, Any]:
    """``optimization_results.yaml`` as hydra-optuna-sweeper writes it (``name`` says who).

    One metric: ``best_params`` and ``best_value``; several: ``solutions``, the
    Pareto front's ``params`` and ``values``.
    """
    if len(results.metrics) > 1:
        return {
            "name": "vertex",
            "solutions": [
                {
                    "params": _params(results, t),
                    "values": [t.values[m.metric_id] for m in results.metrics],
                }
                for t in results.pareto_front()
            ],
        }
    best = results.best()
    if best is None:
        return {"name": "vertex", "best_params": None, "best_value": None}
    return {
        "name": "vertex",
        "best_params": _params(results, best),
        "best_value": best.values[results.metrics[0].metric_id],
    }


def run_local(
    job: JobSpec, sweep_dir: Path, config: DictConfig, *, seed: int | None, stream: TextIO
) -> StudyResults:
    """Run (or resume, when ``sweep_dir`` holds a study) the study; exit 1 on too many failures.

    Raises:
        MissingDependencyError: optuna or matplotlib is not installed.
        ConfigurationError: The sweep dir cannot hold this study.
    """
    missing = [m for m in ("optuna", "matplotlib", "plotly") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"hydra.sweeper.backend=local needs {', '.join(missing)}, which is not installed. "
            'Fix: pip install "vertex-hydra[local]"'
        )
    from vertex_hydra.local.study import Study

    # The study loads Optuna, SQLAlchemy, matplotlib and plotly: the collector's sweep over
    # them at interpreter exit costs ~0.4 s. Frozen at exit, after any code that follows the
    # sweep in the user's script, they are left to the OS, as ``vertex-hydra local`` does.
    atexit.register(gc.freeze)
    resume = (sweep_dir / "study.db").exists()
    study = Study(job, sweep_dir, parallel=job.parallel_trial_count, seed=seed, resume=resume)
    hint = f"Resume with the same command and hydra.sweep.dir={sweep_dir}"
    results = study.run(Console(stream, resume=hint))
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    OmegaConf.save(
        OmegaConf.create(optimization_results(results)), sweep_dir / "optimization_results.yaml"
    )
    stream.flush()
    if study.end_reason == "interrupted":
        sys.exit(130 if study.signal != "SIGTERM" else 143)
    if study.end_reason == "failures":
        sys.exit(1)
    return results
