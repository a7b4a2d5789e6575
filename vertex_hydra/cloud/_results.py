"""Turn a Vertex AI ``HyperparameterTuningJob`` (REST JSON) into :class:`StudyResults`.

``vertex-hydra results`` renders what this returns with
:func:`vertex_hydra.results.render`, the same code that renders ``local``
studies, so the two read alike. Pure functions over dicts: no client, no network.

Example:
    >>> job = {
    ...     "studySpec": {"metrics": [{"metricId": "acc", "goal": "MAXIMIZE"}],
    ...                   "parameters": [{"parameterId": "depth",
    ...                                   "integerValueSpec": {"minValue": "1", "maxValue": "4"}}]},
    ...     "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i"}}]},
    ...     "trials": [{"id": "1", "state": "SUCCEEDED",
    ...                 "parameters": [{"parameterId": "depth", "value": 3.0}],
    ...                 "finalMeasurement": {"stepCount": "9",
    ...                                      "metrics": [{"metricId": "acc", "value": 0.9}]}}]}
    >>> job_to_results(job).trials[0]
    TrialResult(trial_id='1', state='SUCCEEDED', parameters={'depth': 3}, values={'acc': 0.9}, \
seconds=None, measurements=[], error=None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vertex_hydra.jobspec import JobSpec, ParameterSpec
from vertex_hydra.results import Measurement, StudyResults, TrialResult

__all__ = ["VERTEX_TRIAL_STATES", "job_to_results", "trial_to_result"]

#: Vertex ``Trial.State`` -> :data:`vertex_hydra.results.TRIAL_STATES`. Vertex has
#: no FAILED: a trial that crashes or reports nothing becomes INFEASIBLE, with
#: ``infeasibleReason`` saying why.
VERTEX_TRIAL_STATES = {
    "STATE_UNSPECIFIED": "ACTIVE",
    "REQUESTED": "ACTIVE",
    "ACTIVE": "ACTIVE",
    "STOPPING": "STOPPED",
    "SUCCEEDED": "SUCCEEDED",
    "INFEASIBLE": "INFEASIBLE",
}


def job_to_results(job: Mapping[str, Any]) -> StudyResults:
    """The study's metrics, parameters and every trial (ordered by trial id).

    Args:
        job: A ``HyperparameterTuningJob`` as REST JSON (camelCase), e.g. from
            :func:`vertex_hydra.cloud._api.get_job`.

    Raises:
        ConfigurationError: The job has no usable ``studySpec``.

    Example:
        >>> job_to_results(job).metrics  # doctest: +SKIP
        (MetricSpec(metric_id='val/acc', goal='MAXIMIZE'),)
    """
    spec = JobSpec.from_dict(_as_written(job))
    by_id = {p.parameter_id: p for p in spec.parameters}
    trials = sorted(job.get("trials") or [], key=_trial_order)
    return StudyResults(
        metrics=spec.metrics,
        parameters=spec.columns,
        trials=[trial_to_result(t, by_id) for t in trials],
    )


def trial_to_result(
    trial: Mapping[str, Any], parameters: Mapping[str, ParameterSpec]
) -> TrialResult:
    """One Vertex ``Trial`` (REST JSON) as a :class:`TrialResult`.

    Values come back as the parameter's own type: ``int`` for INTEGER, the
    job file's value for DISCRETE, ``float`` for DOUBLE, ``str`` for CATEGORICAL.

    Example:
        >>> p = {"lr": ParameterSpec("lr", "DOUBLE", 0.001, 0.1)}
        >>> trial_to_result({"id": "2", "state": "INFEASIBLE", "infeasibleReason": "OOM",
        ...                  "parameters": [{"parameterId": "lr", "value": 0.01}]}, p).error
        'OOM'
    """
    measurements = sorted(
        (
            Measurement(
                int(m.get("stepCount") or 0),
                _duration(m.get("elapsedDuration")),
                _metric_values(m),
            )
            for m in trial.get("measurements") or []
        ),
        key=lambda m: m.step,
    )
    final = trial.get("finalMeasurement")
    return TrialResult(
        trial_id=str(trial.get("id", "")),
        state=VERTEX_TRIAL_STATES.get(str(trial.get("state", "")), "ACTIVE"),
        parameters={
            str(p["parameterId"]): _typed(p.get("value"), parameters.get(str(p["parameterId"])))
            for p in trial.get("parameters") or []
        },
        values=_metric_values(final) if final else {},
        seconds=_seconds(trial.get("startTime"), trial.get("endTime")),
        measurements=measurements,
        error=trial.get("infeasibleReason") or None,
    )


def _as_written(job: Mapping[str, Any]) -> dict[str, Any]:
    # Canonical JSON writes int64 bounds as strings ("1") and every discrete
    # value as a double (64.0); users write 1 and 64, and `local` keeps what
    # they wrote. Undo both so the two render identically.
    # The children of conditionalParameterSpecs, at any depth, alike.
    study = dict(job.get("studySpec") or {})
    study["parameters"] = [_parameter_as_written(raw) for raw in study.get("parameters") or []]
    return {**job, "studySpec": study}


def _parameter_as_written(raw: Mapping[str, Any]) -> dict[str, Any]:
    param = dict(raw)
    if "integerValueSpec" in param:
        param["integerValueSpec"] = {k: int(v) for k, v in param["integerValueSpec"].items()}
    if "discreteValueSpec" in param:
        values = param["discreteValueSpec"].get("values") or []
        param["discreteValueSpec"] = {"values": [_integral(float(v)) for v in values]}
    children = []
    for child in param.get("conditionalParameterSpecs") or []:
        child = dict(child)
        for key in ("parentIntValues", "parentDiscreteValues"):
            if isinstance(child.get(key), Mapping):
                values = child[key].get("values") or []
                child[key] = {"values": [_integral(float(v)) for v in values]}
        if isinstance(child.get("parameterSpec"), Mapping):
            child["parameterSpec"] = _parameter_as_written(child["parameterSpec"])
        children.append(child)
    if children:
        param["conditionalParameterSpecs"] = children
    return param


def _integral(number: float) -> float:
    return int(number) if number.is_integer() else number


def _trial_order(trial: Mapping[str, Any]) -> tuple[int, str]:
    trial_id = str(trial.get("id", ""))
    return (int(trial_id) if trial_id.isdigit() else 1 << 62, trial_id)


def _metric_values(measurement: Mapping[str, Any]) -> dict[str, float]:
    return {
        str(m["metricId"]): float(m.get("value", 0.0)) for m in measurement.get("metrics") or []
    }


def _typed(value: Any, spec: ParameterSpec | None) -> float | str:
    if spec is None or spec.kind == "CATEGORICAL" or isinstance(value, str):
        return str(value)
    number = float(value)
    if spec.kind == "INTEGER":
        return int(round(number))
    if spec.kind == "DISCRETE":
        # Vertex sends every number as a double; show the value the job file listed.
        return next((v for v in spec.values if float(v) == number), number)
    return number


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    from google.protobuf.timestamp_pb2 import Timestamp

    begin, finish = Timestamp(), Timestamp()
    begin.FromJsonString(start)
    finish.FromJsonString(end)
    nanoseconds: int = finish.ToNanoseconds() - begin.ToNanoseconds()
    return nanoseconds / 1e9


def _duration(text: Any) -> float | None:
    """A protobuf ``Duration`` in JSON (``"12.5s"``) as seconds; ``None`` when absent or odd."""
    if not isinstance(text, str) or not text.endswith("s"):
        return None
    try:
        return float(text[:-1])
    except ValueError:
        return None
