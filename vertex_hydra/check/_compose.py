"""The composition half of ``vertex-hydra check``: probe batches, error attribution, rows.

Round one runs a baseline (no parameter) and one composition per probe index
in parallel. A failed composition is attributed to the parameter whose key (or
Vertex token) Hydra's error names and re-run without it; an error that names
no parameter is narrowed down by composing each of its parameters alone. So a
clean job costs ``1 + max(len(probe values))`` runs, and each mistake costs at
most one more round.

Example:
    >>> composed = compose_rows(load_job("tests/apps/plain_job.yaml"))  # doctest: +SKIP
    >>> composed.compositions, [r.status for r in composed.rows]  # doctest: +SKIP
    (4, ['OK', 'OK', 'OK'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vertex_hydra.check._messages import (
    Outcome,
    baseline_problem,
    failure,
    float_problem,
    lost_key_problem,
    node_problem,
    text_problem,
)
from vertex_hydra.check._model import ParameterRow, Problem, flatten_keys
from vertex_hydra.check._probe import (
    Composition,
    command_text,
    error_keys,
    essential_error,
    is_missing_key_error,
    run_compositions,
)
from vertex_hydra.errors import TranslationError
from vertex_hydra.jobspec import JobSpec, ParameterSpec
from vertex_hydra.translate import to_hydra_args

__all__ = ["Composed", "compose_rows", "select", "probes_for", "probe_slots"]

_ABSENT: Any = object()


@dataclass(frozen=True)
class Composed:
    """Rows and problems found by composing the trial configs.

    Example:
        >>> Composed((), [], compositions=4, runs=4).runs
        4
    """

    rows: tuple[ParameterRow, ...]
    problems: list[Problem]
    compositions: int
    runs: int
    #: The chief's baseline config (no parameter), when it composed.
    config: dict[str, Any] | None = None


def select(config: Any, key: str) -> Any:
    """The value at dotted ``key`` in nested mappings/lists, or a private sentinel if absent.

    Example:
        >>> select({"data": {"sizes": [8, 16]}}, "data.sizes.1")
        16
    """
    node = config
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _ABSENT
    return node


def probes_for(param: ParameterSpec) -> list[float | str]:
    """The values ``check`` composes for ``param``: its probe values, plus, for a DOUBLE
    with integral bounds, a fractional value inside them (Vertex will send such values,
    and integral bounds alone would hide an int field).

    Example:
        >>> probes_for(ParameterSpec("depth", "DOUBLE", min_value=1, max_value=3))
        [1, 1.5, 3]
    """
    values = param.probe_values()
    low, high = param.min_value, param.max_value
    if param.kind != "DOUBLE" or low is None or high is None:
        return values
    if not (float(low).is_integer() and float(high).is_integer()):
        return values
    inside = (low + (high - low) * f for f in (0.5, 0.25, 0.125, 0.0625))
    fractional = next((v for v in inside if not float(v).is_integer()), None)
    return values if fractional is None else [values[0], fractional, *values[1:]]


def _hydra_key(param: ParameterSpec, trace: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The Hydra key a parameter lands on under the app's own options, or the translation error."""
    try:
        override = to_hydra_args(
            [param.vertex_arg(param.probe_values()[0])],
            rename=trace.get("rename") or {},
            coerce_integral_floats=bool(trace.get("coerce_integral_floats", True)),
            value_types=trace.get("value_types") or {},
        )[0]
    except TranslationError as error:
        return None, str(error)
    return override.partition("=")[0].lstrip("+~"), None


def _attribute(
    comp: Composition, keys: Mapping[str, str | None], params: Mapping[str, ParameterSpec]
) -> str | None:
    """The parameter a failed composition's error report names, if any."""
    if comp.returncode is None:
        return None
    named = error_keys(comp.stderr)
    for name in named:
        exact = [pid for pid in comp.params if keys.get(pid) == name]
        if exact:
            return exact[0]
    for name in named:
        # Hydra names the first missing level: 'data.x' for a parameter 'data.x.y'.
        below = [pid for pid in comp.params if (keys.get(pid) or "").startswith(name + ".")]
        if below:
            return max(below, key=lambda pid: len(keys[pid] or ""))
    for pid, value in comp.params.items():
        token = params[pid].vertex_arg(value)
        if f"'{token}'" in comp.stderr or f'"{token}"' in comp.stderr:
            return pid
    return None


def compose_rows(
    job: JobSpec, *, python: str | None = None, timeout: float = 60.0, jobs: int | None = None
) -> Composed:
    """Compose the trial config for every probe value and judge each parameter.

    Args:
        job: The tuning job (its rules already pass).
        python: Interpreter replacing a leading ``python`` of the trial command.
        timeout: Seconds allowed to each composition.
        jobs: Compositions run at a time.

    Example:
        >>> compose_rows(job).problems  # doctest: +SKIP
        []
    """
    params = probe_slots(job)
    ids = {slot: p.parameter_id for slot, p in params.items()}
    probes = {slot: probes_for(p) for slot, p in params.items()}
    for slot, p in params.items():  # a parent is also probed at each value that activates a child
        for child in p.children:
            if not any(child.active_under(v) for v in probes[slot]):
                probes[slot].append(child.parent_values[0])
    batches: list[dict[str, float | str]] = [{}] + _probe_batches(job, params, probes)
    first = run_compositions(job, batches, python=python, timeout=timeout, jobs=jobs, ids=ids)
    baseline, runs = first[0], len(first)
    blocked = baseline_problem(baseline, timeout)
    if blocked is not None:
        rows = tuple(
            _row(params[slot], probes[slot], None, {}, {}, _ABSENT, blocked[0], slot=slot)
            for slot in params
        )
        return Composed(rows, [Problem("trial command", blocked[1])], len(batches), runs)
    trace = baseline.trace or {}
    keys: dict[str, str | None] = {}
    key_errors: dict[str, str | None] = {}
    for pid, param in params.items():
        keys[pid], key_errors[pid] = _hydra_key(param, trace)
    existing = flatten_keys(baseline.config or {})
    received: dict[tuple[str, int], Any] = {}
    failed: dict[tuple[str, int], Outcome] = {}
    split: list[Composition] = []
    pending = first[1:]

    def _open(pid: str, i: int) -> bool:
        return (pid, i) not in received and (pid, i) not in failed

    while pending:
        again: list[dict[str, float | str]] = []
        for comp in pending:
            slots = {pid: probes[pid].index(value) for pid, value in comp.params.items()}
            if comp.ok:
                for pid, i in slots.items():
                    received[pid, i] = select(comp.config, keys[pid] or "")
                continue
            culprit = _attribute(comp, keys, params)
            if culprit is None and len(comp.params) == 1:
                culprit = next(iter(comp.params))
            if culprit is None:
                split.append(comp)
                again += [{pid: value} for pid, value in comp.params.items()]
                continue
            value, parent = comp.params[culprit], _parent(culprit, keys)
            if (
                parent in comp.params
                and keys[culprit] in existing
                and is_missing_key_error(comp.stderr)
            ):
                # An existing key that is missing here: the parent's value replaced its node first.
                outcome = lost_key_problem(params[culprit], value, keys[culprit] or "", parent)
            else:
                outcome = failure(
                    params[culprit],
                    value,
                    comp,
                    keys[culprit],
                    key_errors[culprit],
                    existing,
                    timeout,
                )
            failed.setdefault((culprit, slots[culprit]), outcome)
            rest = {pid: v for pid, v in comp.params.items() if pid != culprit}
            if rest:
                again.append(rest)
        again = [b for b in again if any(_open(pid, probes[pid].index(v)) for pid, v in b.items())]
        pending = (
            run_compositions(job, again, python=python, timeout=timeout, jobs=jobs, ids=ids)
            if again
            else []
        )
        runs += len(pending)
    problems: list[Problem] = []
    coerce = bool(trace.get("coerce_integral_floats", True))
    judged: list[ParameterRow] = []
    for pid, param in params.items():
        default = select(baseline.config, keys[pid] or "")
        parent = _parent(pid, keys)
        row = _row(
            param, probes[pid], keys[pid], received, failed, default, None, coerce, parent, pid
        )
        judged.append(row)
        if row.problem is not None:
            problems.append(Problem(pid, row.problem))
    for comp in split:
        if all((pid, probes[pid].index(v)) in received for pid, v in comp.params.items()):
            problems.append(Problem("trial command", (
                f"{command_text(comp.argv)} fails although each of its parameters composes alone: "
                f"{essential_error(comp.stderr)}. Fix: check how these values interact in the config."
            )))  # fmt: skip
    return Composed(tuple(judged), problems, len(batches), runs, baseline.config)


def _probe_batches(
    job: JobSpec, params: Mapping[str, ParameterSpec], probes: Mapping[str, list[float | str]]
) -> list[dict[str, float | str]]:
    """Batches that pass every probe value of every parameter once at least, as Vertex would.

    Batch ``k`` passes each parameter's ``k``-th probe value (the last one when it
    has fewer). A child of ``conditionalParameterSpecs`` is passed only when its
    parent's value in the batch activates it, so a parent that has tried all its
    values takes one that activates a child still to probe, and more batches follow
    until every child's value is passed. An inactive child is never in a batch.
    """
    covered: set[tuple[str, int]] = set()
    slot_of = {id(p): slot for slot, p in params.items()}
    tree = [p for p in job.roots if id(p) in slot_of]

    def needy(p: ParameterSpec) -> bool:
        pid = slot_of[id(p)]
        return any((pid, i) not in covered for i in range(len(probes[pid]))) or any(
            needy(c) for c in p.children if id(c) in slot_of
        )

    batches: list[dict[str, float | str]] = []
    k = 0
    while any(needy(p) for p in tree):
        batch: dict[str, float | str] = {}

        def walk(p: ParameterSpec) -> None:
            pid = slot_of[id(p)]
            values = probes[pid]
            children = [c for c in p.children if id(c) in slot_of]
            i = min(k, len(values) - 1)
            if (pid, i) in covered:
                wanted = [c for c in children if needy(c)]
                i = next(
                    (j for j in range(len(values)) if (pid, j) not in covered),
                    next(
                        (j for j, v in enumerate(values) for c in wanted if c.active_under(v)),
                        i,
                    ),
                )
            batch[pid] = values[i]
            covered.add((pid, i))
            for child in children:
                if child.active_under(values[i]):
                    walk(child)

        for root in tree:
            walk(root)
        batches.append(batch)
        k += 1
    return batches


def probe_slots(job: JobSpec) -> dict[str, ParameterSpec]:
    """Every parameter spec of the tree, in pre-order, under a name of its own.

    A ``parameterId`` held by one spec is its own name; children that share an id
    under disjoint conditions are each named as the table shows them,
    ``lr (when model.act in [relu])``, so each is probed and judged on its own.

    Example:
        >>> [*probe_slots(JobSpec.from_dict({"studySpec": {
        ...     "metrics": [{"metricId": "a", "goal": "MAXIMIZE"}],
        ...     "parameters": [{"parameterId": "act",
        ...         "categoricalValueSpec": {"values": ["relu", "tanh"]},
        ...         "conditionalParameterSpecs": [
        ...             {"parentCategoricalValues": {"values": [v]}, "parameterSpec":
        ...              {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.1, "maxValue": 1}}}
        ...             for v in ("relu", "tanh")]}]},
        ...     "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i",
        ...         "command": ["t"]}}]}}))]
        ['act', 'lr (when act in [relu])', 'lr (when act in [tanh])']
    """
    counts: dict[str, int] = {}
    for p in job.parameters:
        counts[p.parameter_id] = counts.get(p.parameter_id, 0) + 1
    return {
        (
            p.parameter_id
            if counts[p.parameter_id] == 1
            else f"{p.parameter_id} (when {p.condition()})"
        ): p
        for p in job.parameters
    }


def _parent(pid: str, keys: Mapping[str, str | None]) -> str | None:
    """Another parameter whose key is a node above ``pid``'s key (``model.opt`` above ``model.opt.lr``)."""
    key = keys[pid]
    above = [
        other for other, k in keys.items() if other != pid and k and key and key.startswith(k + ".")
    ]
    return above[0] if above else None


def _row(
    param: ParameterSpec,
    values: list[float | str],
    key: str | None,
    received: Mapping[tuple[str, int], Any],
    failed: Mapping[tuple[str, int], Outcome],
    default: Any,
    status: str | None,
    coerce: bool = True,
    parent: str | None = None,
    slot: str | None = None,
) -> ParameterRow:
    pid = slot or param.parameter_id
    got = [received.get((pid, i), _ABSENT) for i in range(len(values))]
    outcome: Outcome | None = next(
        (failed[pid, i] for i in range(len(values)) if (pid, i) in failed), None
    )
    if outcome is None and status is None:
        for i, value in enumerate(got):
            if value is _ABSENT and key is not None and not key.startswith("hydra."):
                outcome = lost_key_problem(param, values[i], key, parent)
            elif value is not _ABSENT and key is not None:
                outcome = (
                    node_problem(param, value, key, default)
                    or float_problem(param, value, default, coerce)
                    or text_problem(param, values[i], value, default)
                )
            if outcome is not None:
                break
    return ParameterRow(
        parameter_id=param.parameter_id,
        key=key,
        tried=tuple(param.format_value(v) for v in values),
        received=tuple(None if v is _ABSENT else v for v in got),
        default=None if default is _ABSENT else default,
        status=status or (outcome[0] if outcome else "OK"),
        problem=outcome[1] if outcome else None,
        condition=param.condition(),
    )
