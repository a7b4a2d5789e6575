"""The checks a job file must pass: the real schema, and the rules it misses.

Each problem is one sentence that names the field, says what was received and
ends with the fix. :mod:`vertex_hydra.jobspec` re-exports the public names.

Example:
    >>> rule_problems({"studySpec": {"metrics": [], "parameters": []}})[0]
    'studySpec.metrics is empty. Fix: add one, e.g. {metricId: val_loss, goal: MINIMIZE}.'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from vertex_hydra.jobspec._schema_problems import schema_problems
from vertex_hydra.jobspec._text import describe as _kind
from vertex_hydra.jobspec._text import shown

__all__ = ["ParameterKind", "SCALE_TYPES", "schema_problems", "rule_problems"]

ParameterKind = Literal["DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL"]
#: The ``scaleType`` values Vertex AI accepts for numeric parameters.
SCALE_TYPES = ("UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")
_SPEC_KINDS: dict[str, ParameterKind] = {
    "doubleValueSpec": "DOUBLE",
    "integerValueSpec": "INTEGER",
    "discreteValueSpec": "DISCRETE",
    "categoricalValueSpec": "CATEGORICAL",
}


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def rule_problems(raw: Mapping[str, Any]) -> list[str]:
    """Check what the schema alone does not, each problem as one sentence with its fix.

    Example:
        >>> rule_problems({"studySpec": {"metrics": [{"metricId": "loss", "goal": "MINIMIZE"}], "parameters": []}})[0]
        'studySpec.parameters is empty. Fix: add at least one parameter to tune.'
    """
    problems = _count_problems(raw)
    study = raw.get("studySpec")
    if study is None:
        return problems + ["studySpec is missing. Fix: add studySpec with metrics and parameters."]
    if not isinstance(study, Mapping):
        return [*problems, (
            f"studySpec is {_kind(study)}, not a mapping. Fix: write studySpec: "
            "{metrics: [...], parameters: [...]}."
        )]  # fmt: skip
    metrics = study.get("metrics") or []
    if not isinstance(metrics, (list, tuple)):
        problems.append(
            _not_a_list("studySpec.metrics", metrics, "[{metricId: val_loss, goal: MINIMIZE}]")
        )
        metrics = []
    elif not metrics:
        problems.append(
            "studySpec.metrics is empty. Fix: add one, e.g. {metricId: val_loss, goal: MINIMIZE}."
        )
    for i, metric in enumerate(metrics):
        if not isinstance(metric, Mapping):
            problems.append(
                f"studySpec.metrics[{i}] is {_kind(metric)}, not a mapping. Fix: write {{metricId: val_loss, goal: MINIMIZE}}."
            )
            continue
        metric_id = metric.get("metricId", "")
        if not isinstance(metric_id, str) or not metric_id or any(c.isspace() for c in metric_id):
            problems.append(
                f"studySpec.metrics[{i}].metricId {shown(metric_id)} is empty, not text or holds "
                "whitespace. "
                "Fix: use a name without spaces, e.g. val_loss."
            )
        if metric.get("goal") not in ("MAXIMIZE", "MINIMIZE"):
            problems.append(
                f"studySpec.metrics[{i}].goal is {shown(metric.get('goal'))}. "
                "Fix: set goal to MAXIMIZE or MINIMIZE."
            )
    parameters = study.get("parameters") or []
    if not isinstance(parameters, (list, tuple)):
        problems.append(_not_a_list(
            "studySpec.parameters", parameters, "[{parameterId: model.lr, doubleValueSpec: {...}}]"
        ))  # fmt: skip
        parameters = []
    elif not parameters:
        problems.append("studySpec.parameters is empty. Fix: add at least one parameter to tune.")
    ids = [str(p.get("parameterId")) for p in parameters if isinstance(p, Mapping)]
    for pid in sorted({pid for pid in ids if ids.count(pid) > 1}):
        problems.append(
            f"studySpec.parameters: parameterId {pid!r} appears {ids.count(pid)} times. "
            "Fix: tune each parameter once; merge the values into one spec."
        )
    grid = study.get("algorithm") == "GRID_SEARCH"
    for i, param in enumerate(parameters):
        if not isinstance(param, Mapping):
            problems.append(
                f"studySpec.parameters[{i}] is {_kind(param)}, not a mapping. Fix: write "
                "{parameterId: ..., doubleValueSpec: {minValue: ..., maxValue: ...}}."
            )
            continue
        problems += _parameter_problems(i, param, grid)
    return problems + _pool_problems(raw.get("trialJobSpec"))


def _not_a_list(where: str, value: Any, example: str) -> str:
    if isinstance(value, str) and value.split():
        example = f"[{', '.join(value.replace(',', ' ').split())}]"
    return f"{where} is {_kind(value)}, not a list. Fix: write it as a YAML list, e.g. {example}."


def _count_problems(raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for name in ("maxTrialCount", "parallelTrialCount", "maxFailedTrialCount"):
        value = raw.get(name)
        number = None if isinstance(value, bool) else _number(value)
        if value is not None and (number is None or not number.is_integer() or number < 0):
            problems.append(
                f"{name} is {_kind(value)}, not a whole number of trials. Fix: write e.g. {name}: 4."
            )
    return problems


def _pool_problems(trial: Any) -> list[str]:
    """``trialJobSpec.workerPoolSpecs[0]``: a container or Python package that can start a trial."""
    if trial is not None and not isinstance(trial, Mapping):
        return [
            f"trialJobSpec is {_kind(trial)}, not a mapping. Fix: write trialJobSpec: {{workerPoolSpecs: [...]}}."
        ]
    base = (trial or {}).get("baseOutputDirectory")
    prefix = base.get("outputUriPrefix") if isinstance(base, Mapping) else None
    fix = "Fix: write baseOutputDirectory: {outputUriPrefix: gs://bucket/hpt}."
    problems = []
    if base is not None and not isinstance(base, Mapping):
        problems.append(f"trialJobSpec.baseOutputDirectory is {_kind(base)}, not a mapping. {fix}")
    elif prefix is not None and not isinstance(prefix, str):
        problems.append(
            f"trialJobSpec.baseOutputDirectory.outputUriPrefix is {_kind(prefix)}, not text. {fix}"
        )
    return problems + _first_pool_problems(trial)


def _first_pool_problems(trial: Any) -> list[str]:
    pools = (trial or {}).get("workerPoolSpecs") or []
    example = "[{machineSpec: {machineType: n1-standard-4}, replicaCount: 1, containerSpec: {...}}]"
    if not isinstance(pools, (list, tuple)):
        return [_not_a_list("trialJobSpec.workerPoolSpecs", pools, example)]
    if not pools:
        return [(
            "trialJobSpec.workerPoolSpecs is empty. Fix: add one with a containerSpec "
            "(imageUri, command) or a pythonPackageSpec."
        )]  # fmt: skip
    pool = pools[0]
    where = "trialJobSpec.workerPoolSpecs[0]"
    if not isinstance(pool, Mapping):
        return [f"{where} is {_kind(pool)}, not a mapping. Fix: write it as {example[1:-1]}."]
    kinds = [k for k in ("containerSpec", "pythonPackageSpec") if k in pool]
    if not kinds:
        return [(
            f"{where} has neither containerSpec nor pythonPackageSpec. "
            "Fix: add containerSpec: {imageUri: ..., command: [python, train.py]}."
        )]  # fmt: skip
    problems = []
    for kind in kinds:
        spec = pool[kind]
        if not isinstance(spec, Mapping):
            problems.append(f"{where}.{kind} is {_kind(spec)}, not a mapping. Fix: write "
                            f"{kind}: {{imageUri: ..., command: [python, train.py]}}.")  # fmt: skip
            continue
        for name in ("command", "args"):
            if spec.get(name) is not None and not isinstance(spec[name], (list, tuple)):
                problems.append(
                    _not_a_list(f"{where}.{kind}.{name}", spec[name], "[python, train.py]")
                )
        module = spec.get("pythonModule")
        if kind == "pythonPackageSpec" and not (isinstance(module, str) and module.strip()):
            problems.append(
                f"{where}.pythonPackageSpec.pythonModule is {_kind(module)}. Fix: name the "
                "module Vertex runs with 'python -m', e.g. pythonModule: trainer.task."
            )
    return problems


def _parameter_problems(i: int, param: Mapping[str, Any], grid: bool) -> list[str]:
    label = param.get("parameterId", "?")
    plain = isinstance(label, str) and label.isprintable() and len(label) <= 60
    where = f"studySpec.parameters[{i}] ({label if plain else shown(label)})"
    problems: list[str] = []
    pid = param.get("parameterId", "")
    if not isinstance(pid, str) or not pid or any(c.isspace() for c in pid):
        problems.append(
            f"{where}: parameterId {shown(pid)} is empty, not text or holds whitespace. "
            "Fix: rename it, e.g. parameterId: model.lr."
        )
    kinds = [k for k in _SPEC_KINDS if k in param]
    if len(kinds) != 1:
        return problems + [
            f"{where}: needs exactly one of {', '.join(_SPEC_KINDS)}; found {kinds or 'none'}. "
            "Fix: keep one, e.g. doubleValueSpec: {minValue: 0.001, maxValue: 0.1}."
        ]
    kind = _SPEC_KINDS[kinds[0]]
    spec = param[kinds[0]] or {}
    if not isinstance(spec, Mapping):
        return problems + [
            f"{where}: {kinds[0]} is {_kind(spec)}, not a mapping. Fix: give it minValue/maxValue or values, e.g. {{values: [32, 64]}}."
        ]
    scale = param.get("scaleType")
    if scale not in (None, "SCALE_TYPE_UNSPECIFIED", *SCALE_TYPES):
        problems.append(
            f"{where}: scaleType {scale!r} is unknown. Fix: use one of {', '.join(SCALE_TYPES)}."
        )
    if grid and kind == "DOUBLE":
        problems.append(
            f"{where}: GRID_SEARCH cannot tune a DOUBLE parameter. Fix: use "
            "discreteValueSpec with the values to try, or another algorithm."
        )
    if kind in ("DOUBLE", "INTEGER"):
        low, high = _number(spec.get("minValue")), _number(spec.get("maxValue"))
        if low is None or high is None:
            problems.append(
                f"{where}: minValue and maxValue must both be finite numbers, got "
                f"{shown(spec.get('minValue'))} and {shown(spec.get('maxValue'))}. "
                "Fix: set both bounds, e.g. {minValue: 1, maxValue: 4}."
            )
        elif not low < high:
            problems.append(
                f"{where}: minValue {low:g} must be less than maxValue {high:g}. "
                "Fix: swap them, or use discreteValueSpec for a single value."
            )
        elif scale in ("UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE") and low <= 0:
            problems.append(
                f"{where}: {scale} needs positive bounds, got minValue {low:g}. "
                "Fix: raise minValue above 0 or use UNIT_LINEAR_SCALE."
            )
    else:
        values: Sequence[Any] = spec.get("values") or []
        if not isinstance(values, (list, tuple)):
            return problems + [_not_a_list(f"{where}: values", values, "[32, 64, 128]")]
        if not values:
            problems.append(f"{where}: values is empty. Fix: list the values to try.")
        if kind == "DISCRETE":
            numbers = [_number(v) for v in values]
            if any(n is None for n in numbers):
                problems.append(
                    f"{where}: discrete values must be finite numbers, got {shown(list(values))}. "
                    "Fix: use categoricalValueSpec for text values."
                )
            elif any(b <= a for a, b in zip(numbers, numbers[1:])):  # type: ignore[operator]
                problems.append(
                    f"{where}: discrete values must be strictly increasing, got {shown(list(values))}. "
                    f"Fix: write them sorted: {sorted(set(numbers))}."  # type: ignore[type-var]
                )
    return problems
