"""The messages of ``vertex-hydra check``: what went wrong, what was received, and the fix.

Each function returns an :data:`Outcome`: the short status shown in the table
and the full message listed under it.

Example:
    >>> from vertex_hydra.jobspec import ParameterSpec
    >>> float_problem(ParameterSpec("bs", "DISCRETE", values=(32, 64)), 64.0, 32, coerce=False)[0]
    'int field got float 64.0'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vertex_hydra.check._model import suggest_keys
from vertex_hydra.check._probe import (
    Composition,
    command_text,
    essential_error,
    is_missing_key_error,
)
from vertex_hydra.jobspec import ParameterSpec

__all__ = [
    "Outcome",
    "failure",
    "float_problem",
    "node_problem",
    "lost_key_problem",
    "baseline_problem",
]

#: ``(short status for the table, full message with its fix)``.
Outcome = tuple[str, str]


def failure(
    param: ParameterSpec,
    value: float | str,
    comp: Composition,
    key: str | None,
    key_error: str | None,
    existing: list[str],
    timeout: float,
) -> Outcome:
    """Explain why composing ``param`` = ``value`` failed, from the composition's stderr.

    Args:
        param: The parameter the error was attributed to.
        value: Its probe value in the failed composition.
        comp: The failed composition.
        key: The Hydra key the parameter lands on, if known.
        key_error: The translation error when the parameter id is no Hydra key.
        existing: Every key of the baseline config, for suggestions.
        timeout: The per-composition timeout, for the timed-out message.

    Example:
        >>> failure(param, 16, comp, "data.batch_sz", None, ["data.batch_size"], 60)[0]  # doctest: +SKIP
        'key missing; did you mean data.batch_size?'
    """
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
        return (
            short,
            f"the trial config has no key {key!r}, so Hydra rejects {token} ({essential}). Fix: {fix}",
        )
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


def float_problem(param: ParameterSpec, value: Any, default: Any, coerce: bool) -> Outcome | None:
    """An integer field (by its default, or the parameter's type) that received a float.

    Returns:
        The outcome, or ``None`` when ``value`` is fine.

    Example:
        >>> float_problem(ParameterSpec("lr", "DOUBLE", 0.1, 1.0), 0.5, 0.1, True) is None
        True
    """
    if not isinstance(value, float) or isinstance(default, float):
        return None
    integral_param = param.kind == "INTEGER" or (
        param.kind == "DISCRETE" and all(float(v).is_integer() for v in param.values)
    )
    default_int = isinstance(default, int) and not isinstance(default, bool)
    if not (default_int or (integral_param and value.is_integer())):
        return None
    why = (
        f"its default {default!r} is an int" if default_int else f"it is an {param.kind} parameter"
    )
    if integral_param:
        cause = "Vertex AI sends INTEGER and DISCRETE values as doubles" + (
            ", and the app's @vertex_compatible(coerce_integral_floats=False) keeps them as floats"
            if not coerce
            else ""
        )
        fix = "drop coerce_integral_floats=False (the default turns 64.0 into 64), or cast with int() in code."
    else:
        cause = f"a {param.kind} parameter sends fractional values"
        fix = "use integerValueSpec or a discreteValueSpec of integers, or make the field a float."
    return (
        f"int field got float {value!r}",
        (
            f"the config received {value!r} (float) but {why}: {cause}; code that needs an int "
            f"(DataLoader(batch_size=...), range(), nn.Linear) then fails. Fix: {fix}"
        ),
    )


def node_problem(param: ParameterSpec, value: Any, key: str, default: Any) -> Outcome | None:
    """A parameter whose key holds a config node (a mapping) that a plain value replaced.

    Returns:
        The outcome, or ``None`` when ``key`` is no node or received a node (a config group option).

    Example:
        >>> node_problem(ParameterSpec("model.opt", "DOUBLE", 0.1, 1.0), 0.1, "model.opt",
        ...              {"lr": 0.01, "momentum": 0.9})[0]
        'replaces a config node'
    """
    if not isinstance(default, Mapping) or isinstance(value, Mapping):
        return None
    names = [str(name) for name in default]
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    leaf = next((n for n in names if not n.startswith("_")), None)
    example = f", e.g. '{key}.{leaf}'" if leaf else ""
    group = (
        f"; or, to choose between whole nodes, make {key!r} a config group with one file per value"
        if param.kind == "CATEGORICAL" else ""
    )  # fmt: skip
    return "replaces a config node", (
        f"{key!r} is a config node ({shown}), and {param.vertex_arg(value)} replaces all of it "
        f"with {value!r}, so code that reads {key}.<name> fails. Fix: point the parameterId "
        f"at the key to tune inside it{example}{group}."
    )


def lost_key_problem(
    param: ParameterSpec, value: float | str, key: str, parent: str | None
) -> Outcome:
    """A parameter whose key, present without parameters, is absent from the trial's config.

    ``parent`` is another parameter of the same trial whose key lies above ``key``:
    its value replaced the node that held ``key`` (before or after ``key`` was set).

    Example:
        >>> lost_key_problem(ParameterSpec("lr", "DOUBLE", 0.1, 1.0), 0.1, "model.lr", None)[0]
        'not in config'
    """
    token = param.vertex_arg(value)
    if parent is not None:
        return f"removed by {parent}", (
            f"{token} is lost: {parent} replaces the node above {key!r} in the same trial, "
            f"so the config has no {key!r}. Fix: tune {key!r} or {parent!r}, not both; see {parent}'s row."
        )
    return "not in config", (
        f"{token} composed, but the job config has no {key!r}. "
        "Fix: check the app's rename= for this parameter."
    )


def baseline_problem(baseline: Composition, timeout: float) -> Outcome | None:
    """Why nothing can be checked: the app fails, times out, or lacks ``@vertex_compatible``.

    Example:
        >>> baseline_problem(baseline, 60) is None  # doctest: +SKIP
        True
    """
    where = command_text(baseline.argv)
    if baseline.returncode is None:
        return (
            "not checked",
            f"{where} (no tuned parameter) took over {timeout:g} s. Fix: raise --timeout.",
        )
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


def text_problem(
    param: ParameterSpec, sent: float | str, value: Any, default: Any
) -> Outcome | None:
    """A CATEGORICAL value whose text reaches a ``str`` field changed (``true`` -> ``'True'``).

    Returns:
        The outcome, or ``None`` when the field received the exact text (or is not a ``str``).

    Example:
        >>> cat = ParameterSpec("opt", "CATEGORICAL", values=("true", "adam"))
        >>> text_problem(cat, "true", "True", "adam")[0]
        "str field got 'True'"
        >>> text_problem(cat, "adam", "adam", "adam") is None
        True
    """
    if param.kind != "CATEGORICAL" or not isinstance(default, str) or value == str(sent):
        return None
    return (
        f"str field got {value!r}",
        (
            f"the category {str(sent)!r} reached the config as {value!r} "
            f"({type(value).__name__}), but its default {default!r} is a str: Hydra reads "
            f"the text {str(sent)!r} as another value, so code comparing against "
            f"{str(sent)!r} never matches. Fix: rename the category so that Hydra reads it "
            "as plain text (e.g. 'on' for 'true', '0.001' for '1e-3'), or compare against "
            f"{value!r} in code."
        ),
    )
