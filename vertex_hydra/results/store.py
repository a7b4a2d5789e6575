"""Keep any study's results as an Optuna study in ``<workdir>/study.db``, the store ``local`` keeps.

``vertex-hydra results`` calls :func:`write_store` with the trials it fetched from
Vertex AI, so a cloud study has a store like a local one: optuna's
``load_study``, its visualisations and ``vertex-hydra dashboard`` work on both,
with every measurement as an Optuna intermediate value (step -> the first
metric) and each Vertex trial id visible as the trial's ``vertex_trial_id``
attribute. The layout is :mod:`vertex_hydra.local.store`'s (study name,
``vertex_parameters``, the ``vertex`` outcome).

Fetching again rewrites the file from the newest trials in one step (a new
file, then ``os.replace``), so the store holds each trial once and a reader
never sees half of it. optuna is imported when this runs.

Example:
    >>> write_store(results, "vertex-hydra-results/123")  # doctest: +SKIP
    PosixPath('vertex-hydra-results/123/study.db')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vertex_hydra.jobspec import ParameterSpec
from vertex_hydra.results.model import MEASURED_STATES, StudyResults, TrialResult

__all__ = ["write_store", "distribution"]


def distribution(parameter: ParameterSpec) -> Any:
    """The Optuna distribution a Vertex parameter's values are stored under.

    Example:
        >>> distribution(ParameterSpec("depth", "INTEGER", 1, 4))
        IntDistribution(high=4, log=False, low=1, step=1)
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    log = parameter.scale_type == "UNIT_LOG_SCALE"
    if parameter.kind == "DOUBLE":
        return FloatDistribution(float(parameter.min_value), float(parameter.max_value), log=log)  # type: ignore[arg-type]
    if parameter.kind == "INTEGER":
        return IntDistribution(int(parameter.min_value), int(parameter.max_value), log=log)  # type: ignore[arg-type]
    return CategoricalDistribution(list(parameter.values))


def _feasible(spec: ParameterSpec, value: Any) -> bool:
    """Whether Optuna can store ``value`` under the parameter's distribution."""
    if spec.kind in ("DISCRETE", "CATEGORICAL"):
        return value in spec.values
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return float(spec.min_value) <= number <= float(spec.max_value)  # type: ignore[arg-type]


def _frozen(results: StudyResults, trial: TrialResult) -> Any:
    import optuna
    from optuna.trial import TrialState

    from vertex_hydra.local.store import measurement_record

    specs = {p.parameter_id: p for p in results.parameters}
    params: dict[str, Any] = {}
    distributions: dict[str, Any] = {}
    for pid, value in trial.parameters.items():
        spec = specs.get(pid)
        if spec is None:
            continue
        if spec.kind == "DISCRETE":
            value = next((v for v in spec.values if float(v) == float(value)), value)
        if _feasible(spec, value):
            params[pid], distributions[pid] = value, distribution(spec)
    measured = trial.state in MEASURED_STATES and all(
        m.metric_id in trial.values for m in results.metrics
    )
    state = (
        TrialState.COMPLETE
        if measured
        else TrialState.RUNNING
        if trial.state == "ACTIVE"
        else TrialState.FAIL
    )
    first = results.metrics[0].metric_id
    intermediate = (
        {m.step: m.values[first] for m in trial.measurements if first in m.values}
        if len(results.metrics) == 1
        else {}
    )
    outcome = {
        "state": trial.state,
        "measurements": [measurement_record(m) for m in trial.measurements],
        "error": trial.error,
        "seconds": trial.seconds,
    }
    return optuna.trial.create_trial(
        state=state,
        values=[trial.values[m.metric_id] for m in results.metrics] if measured else None,
        params=params,
        distributions=distributions,
        user_attrs={
            "vertex_parameters": dict(trial.parameters),
            "vertex": outcome,
            "vertex_trial_id": trial.trial_id,
        },
        intermediate_values=intermediate,
    )


def write_store(results: StudyResults, workdir: str | Path) -> Path:
    """Write ``results`` into ``<workdir>/study.db`` (replacing an earlier copy); return its path.

    Args:
        results: The study's trials, in their Vertex order.
        workdir: The folder of the study (created if needed).

    Example:
        >>> write_store(job_to_results(job), tmp)  # doctest: +SKIP
        PosixPath('.../study.db')
    """
    import optuna

    from vertex_hydra.local.search import directions
    from vertex_hydra.local.store import LAYOUT, STORE_FILE, STUDY_NAME

    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / STORE_FILE
    partial = folder / f".{STORE_FILE}.{os.getpid()}.tmp"
    partial.unlink(missing_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{partial.resolve()}")
    try:
        study = optuna.create_study(
            storage=storage, study_name=STUDY_NAME, directions=directions(results.metrics)
        )
        study.set_user_attr("layout", LAYOUT)
        study.set_user_attr("source", "vertex")
        study.add_trials([_frozen(results, t) for t in results.trials])
    finally:
        storage.engine.dispose()
    os.replace(partial, target)
    return target
