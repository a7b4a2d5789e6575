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
        problems += _parameter_problems(f"studySpec.parameters[{i}]", param, grid)
        problems += _children_problems(f"studySpec.parameters[{i}]", param, grid, set(ids))
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


def _where(path: str, param: Mapping[str, Any]) -> str:
    label = param.get("parameterId", "?")
    plain = isinstance(label, str) and label.isprintable() and len(label) <= 60
    return f"{path} ({label if plain else shown(label)})"


def _parameter_problems(path: str, param: Mapping[str, Any], grid: bool) -> list[str]:
    where = _where(path, param)
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


_PARENT_KEYS: dict[str, tuple[str, ...]] = {
    "INTEGER": ("parentIntValues", "integerValueSpec"),
    "DISCRETE": ("parentDiscreteValues", "discreteValueSpec"),
    "CATEGORICAL": ("parentCategoricalValues", "categoricalValueSpec"),
}


def _feasible(kind: str, spec: Mapping[str, Any], value: Any) -> bool | None:
    """Whether ``value`` lies in the parent's feasible set (``None``: the parent is broken)."""
    if kind == "CATEGORICAL":
        values = spec.get("values")
        return isinstance(value, str) and isinstance(values, (list, tuple)) and value in values
    number = None if isinstance(value, bool) else _number(value)
    if kind == "INTEGER":
        low, high = _number(spec.get("minValue")), _number(spec.get("maxValue"))
        if low is None or high is None:
            return None
        return number is not None and number.is_integer() and low <= number <= high
    values = spec.get("values")
    if not isinstance(values, (list, tuple)):
        return None
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    return number is not None and any(abs(number - n) <= 1e-10 for n in numbers)


def _overlap(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    """The values of ``a`` that ``b`` also holds (numbers within 1e-10)."""
    same = []
    for x in a:
        for y in b:
            nx, ny = _number(x), _number(y)
            if x == y or (nx is not None and ny is not None and abs(nx - ny) <= 1e-10):
                same.append(x)
                break
    return same


def _children_problems(
    path: str, param: Mapping[str, Any], grid: bool, top_ids: set[str]
) -> list[str]:
    """The rules of ``conditionalParameterSpecs``, at every depth below ``param``."""
    children = param.get("conditionalParameterSpecs")
    if children is None:
        return []
    where = _where(path, param)
    if not isinstance(children, (list, tuple)):
        return [_not_a_list(f"{where}: conditionalParameterSpecs", children,
                            "[{parentCategoricalValues: {values: [relu]}, parameterSpec: {...}}]")]  # fmt: skip
    kinds = [k for k in _SPEC_KINDS if k in param]
    kind = _SPEC_KINDS[kinds[0]] if len(kinds) == 1 else None
    spec = param[kinds[0]] if kind is not None else None
    if kind == "DOUBLE" and children:
        return [
            f"{where}: a DOUBLE parameter cannot have conditionalParameterSpecs (a child needs "
            "parent values to match). Fix: make the parent an integerValueSpec, "
            "discreteValueSpec or categoricalValueSpec, or move the children to the top level."
        ]
    problems: list[str] = []
    conditions: dict[str, list[tuple[int, list[Any]]]] = {}
    for j, child in enumerate(children):
        at = f"{path}.conditionalParameterSpecs[{j}]"
        if not isinstance(child, Mapping):
            problems.append(
                f"{at} is {_kind(child)}, not a mapping. Fix: write {{parentCategoricalValues: "
                "{values: [relu]}, parameterSpec: {parameterId: ..., doubleValueSpec: {...}}}."
            )
            continue
        inner = child.get("parameterSpec")
        if not isinstance(inner, Mapping):
            problems.append(
                f"{at}: parameterSpec is {_kind(inner)}, not a mapping. Fix: give the child "
                "parameterSpec: {parameterId: ..., doubleValueSpec: {minValue: ..., maxValue: ...}}."
            )
            continue
        at_child = _where(at, inner)
        set_keys = [k for k in ("parentIntValues", "parentDiscreteValues",
                                "parentCategoricalValues") if child.get(k) is not None]  # fmt: skip
        wanted = _PARENT_KEYS[kind][0] if kind in _PARENT_KEYS else None
        if len(set_keys) != 1:
            problems.append(
                f"{at_child}: needs exactly one of parentIntValues, parentDiscreteValues, "
                f"parentCategoricalValues; found {set_keys or 'none'}. Fix: keep one"
                + (f", here {wanted}: {{values: [...]}}." if wanted else ".")
            )
        elif wanted is not None and set_keys[0] != wanted:
            problems.append(
                f"{at_child}: {set_keys[0]} does not match the {_PARENT_KEYS[str(kind)][1]} "
                f"of its parent {param.get('parameterId')!r}. Fix: write the "
                f"condition as {wanted}: {{values: [...]}}."
            )
        elif wanted is not None and isinstance(spec, Mapping):
            key = set_keys[0]
            holder = child[key]
            values = holder.get("values") if isinstance(holder, Mapping) else holder
            if not isinstance(values, (list, tuple)):
                problems.append(_not_a_list(f"{at_child}: {key}.values", values, "[2, 3]"))
            elif not values:
                problems.append(
                    f"{at_child}: {key}.values is empty, so the child is never active. "
                    "Fix: list the parent values that activate it."
                )
            else:
                bad = [v for v in values if _feasible(kind, spec, v) is False]  # type: ignore[arg-type]
                if bad:
                    feasible = (
                        f"the integers {_g(spec.get('minValue'))}..{_g(spec.get('maxValue'))}"
                        if kind == "INTEGER"
                        else shown(list(spec.get("values") or []))
                    )
                    problems.append(
                        f"{at_child}: {key} {shown(bad)} lie outside the values of its parent "
                        f"{param.get('parameterId')!r} ({feasible}). Fix: use values the "
                        "parent can take."
                    )
                pid = inner.get("parameterId")
                if isinstance(pid, str):
                    conditions.setdefault(pid, []).append((j, list(values)))
        pid = inner.get("parameterId")
        if isinstance(pid, str) and pid in top_ids:
            problems.append(
                f"{at_child}: parameterId {pid!r} is also a top-level parameter, so a trial "
                "would get it twice. Fix: rename the child, or drop one of the two."
            )
        problems += _parameter_problems(f"{at}.parameterSpec", inner, grid)
        problems += _children_problems(f"{at}.parameterSpec", inner, grid, top_ids)
    for pid, entries in conditions.items():
        for n, (j, values) in enumerate(entries):
            for k, other in entries[:n]:
                same = _overlap(values, other)
                if same:
                    problems.append(
                        f"{path}.conditionalParameterSpecs[{j}] ({pid}): children "
                        f"[{k}] and [{j}] share parameterId {pid!r} and both activate on "
                        f"{shown(same)}. Fix: make their parent values disjoint, or merge them."
                    )
    return problems


def _g(value: Any) -> str:
    number = _number(value)
    return f"{number:g}" if number is not None else shown(value)
