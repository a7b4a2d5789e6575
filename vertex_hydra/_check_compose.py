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

from vertex_hydra._probe import (
    Composition,
    command_text,
    error_keys,
    essential_error,
    is_missing_key_error,
    run_compositions,
)
from vertex_hydra.check import ParameterRow, Problem, flatten_keys, suggest_keys
from vertex_hydra.errors import TranslationError
from vertex_hydra.jobspec import JobSpec, ParameterSpec
from vertex_hydra.translate import to_hydra_args

__all__ = ["Composed", "compose_rows", "select"]

_ABSENT: Any = object()
Outcome = tuple[str, str]  # (short status, full message)


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


def _hydra_key(param: ParameterSpec, trace: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The Hydra key a parameter lands on under the app's own options, or the translation error."""
    try:
        override = to_hydra_args(
            [param.vertex_arg(param.probe_values()[0])],
            rename=trace.get("rename") or {},
            coerce_integral_floats=bool(trace.get("coerce_integral_floats", True)),
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


def _failure(
    param: ParameterSpec,
    value: float | str,
    comp: Composition,
    key: str | None,
    key_error: str | None,
    existing: list[str],
    timeout: float,
) -> Outcome:
    token = param.vertex_arg(value)
    if comp.returncode is None:
        return "timed out", (
            f"composing the trial config with {token} took over {timeout:g} s "
            f"({command_text(comp.argv)}). Fix: make the app's imports lighter, or raise --timeout."
        )
    if key_error is not None:
        return "bad parameter id", key_error
    essential = essential_error(comp.stderr)
    if key is not None and is_missing_key_error(comp.stderr):
        close = suggest_keys(key, existing)
        if close:
            fix = (
                f"did you mean {' or '.join(repr(k) for k in close)}? Use that as the parameterId, "
                f"or map it in the app: @vertex_compatible(rename={{{param.parameter_id!r}: {close[0]!r}}})."
            )
            short = f"key missing; did you mean {close[0]}?"
        else:
            fix = f"add {key!r} to the config, or rename {param.parameter_id!r} to an existing key."
            short = "key missing"
        return short, f"the trial config has no key {key!r}, so Hydra rejects {token} ({essential}). Fix: {fix}"
    if "Could not find" in comp.stderr and key is not None:
        return f"no such option: {essential}", (
            f"Hydra has no config {key}/{value} for {token}: {essential}. Fix: try only the "
            f"available options in the job file, or add the config file for {value!r} to the "
            f"{key!r} config group."
        )
    return f"rejected: {essential}", (
        f"Hydra rejects {token} for key {key!r}: {essential}. Fix: change the values "
        f"tried in the job file, or the type of {key!r} in the config so it accepts them."
    )


def _float_problem(
    param: ParameterSpec, value: Any, default: Any, coerce: bool
) -> Outcome | None:
    """An integer field (by default value or parameter type) that received a float."""
    if not isinstance(value, float) or isinstance(default, float):
        return None
    integral_param = param.kind == "INTEGER" or (
        param.kind == "DISCRETE" and all(float(v).is_integer() for v in param.values)
    )
    default_int = isinstance(default, int) and not isinstance(default, bool)
    if not (default_int or (integral_param and value.is_integer())):
        return None
    why = f"its default {default!r} is an int" if default_int else f"it is an {param.kind} parameter"
    if integral_param:
        cause = "Vertex AI sends INTEGER and DISCRETE values as doubles" + (
            ", and the app's @vertex_compatible(coerce_integral_floats=False) keeps them as floats"
            if not coerce else ""
        )
        fix = "drop coerce_integral_floats=False (the default turns 64.0 into 64), or cast with int() in code."
    else:
        cause = f"a {param.kind} parameter sends fractional values"
        fix = "use integerValueSpec or a discreteValueSpec of integers, or make the field a float."
    return (
        f"int field got float {value!r}",
        f"the config received {value!r} (float) but {why}: {cause}; code that needs an int "
        f"(DataLoader(batch_size=...), range(), nn.Linear) then fails. Fix: {fix}",
    )


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
    params = {p.parameter_id: p for p in job.parameters}
    probes = {pid: p.probe_values() for pid, p in params.items()}
    width = max(len(values) for values in probes.values())
    batches: list[dict[str, float | str]] = [{}] + [
        {pid: values[min(k, len(values) - 1)] for pid, values in probes.items()}
        for k in range(width)
    ]
    first = run_compositions(job, batches, python=python, timeout=timeout, jobs=jobs)
    baseline, runs = first[0], len(first)
    blocked = _baseline_problem(baseline, timeout)
    if blocked is not None:
        rows = tuple(_row(params[pid], probes[pid], None, {}, {}, _ABSENT, blocked[0]) for pid in params)
        return Composed(rows, [Problem("trial command", blocked[1])], 1 + width, runs)
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
            value = comp.params[culprit]
            failed.setdefault((culprit, slots[culprit]), _failure(
                params[culprit], value, comp, keys[culprit], key_errors[culprit], existing, timeout
            ))  # fmt: skip
            rest = {pid: v for pid, v in comp.params.items() if pid != culprit}
            if rest:
                again.append(rest)
        again = [b for b in again if any(_open(pid, probes[pid].index(v)) for pid, v in b.items())]
        pending = run_compositions(job, again, python=python, timeout=timeout, jobs=jobs) if again else []
        runs += len(pending)
    problems: list[Problem] = []
    coerce = bool(trace.get("coerce_integral_floats", True))
    judged: list[ParameterRow] = []
    for pid, param in params.items():
        default = select(baseline.config, keys[pid] or "")
        row = _row(param, probes[pid], keys[pid], received, failed, default, None, coerce)
        judged.append(row)
        if row.problem is not None:
            problems.append(Problem(pid, row.problem))
    for comp in split:
        if all((pid, probes[pid].index(v)) in received for pid, v in comp.params.items()):
            problems.append(Problem("trial command", (
                f"{command_text(comp.argv)} fails although each of its parameters composes alone: "
                f"{essential_error(comp.stderr)}. Fix: check how these values interact in the config."
            )))  # fmt: skip
    return Composed(tuple(judged), problems, 1 + width, runs)


def _baseline_problem(baseline: Composition, timeout: float) -> Outcome | None:
    where = command_text(baseline.argv)
    if baseline.returncode is None:
        return "not checked", f"{where} (no tuned parameter) took over {timeout:g} s. Fix: raise --timeout."
    if not baseline.ok:
        return "not checked", (
            f"{where} fails without any tuned parameter (exit {baseline.returncode}): "
            f"{essential_error(baseline.stderr)}. Fix: make the trial command run on its own "
            "first; check containerSpec.command/args (or pythonPackageSpec) and --python."
        )
    if baseline.trace is None:
        return "not checked", (
            f"{where} did not go through @vertex_compatible (it wrote no trace), so Hydra would "
            "reject every --<parameterId>=<value> argument Vertex AI passes. Fix: decorate the "
            "app: 'from vertex_hydra import vertex_compatible', then put @vertex_compatible "
            "directly above @hydra.main."
        )
    return None


def _row(
    param: ParameterSpec,
    values: list[float | str],
    key: str | None,
    received: Mapping[tuple[str, int], Any],
    failed: Mapping[tuple[str, int], Outcome],
    default: Any,
    status: str | None,
    coerce: bool = True,
) -> ParameterRow:
    pid = param.parameter_id
    got = [received.get((pid, i), _ABSENT) for i in range(len(values))]
    outcome: Outcome | None = next((failed[pid, i] for i in range(len(values)) if (pid, i) in failed), None)
    if outcome is None and status is None:
        for i, value in enumerate(got):
            if value is _ABSENT and key is not None and not key.startswith("hydra."):
                outcome = ("not in config", (
                    f"{param.vertex_arg(values[i])} composed, but the job config has no {key!r}. "
                    "Fix: check the app's rename= for this parameter."
                ))  # fmt: skip
            elif value is not _ABSENT:
                outcome = _float_problem(param, value, default, coerce)
            if outcome is not None:
                break
    return ParameterRow(
        parameter_id=pid,
        key=key,
        tried=tuple(param.format_value(v) for v in values),
        received=tuple(None if v is _ABSENT else v for v in got),
        default=None if default is _ABSENT else default,
        status=status or (outcome[0] if outcome else "OK"),
        problem=outcome[1] if outcome else None,
    )
