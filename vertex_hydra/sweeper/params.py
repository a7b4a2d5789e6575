"""``hydra.sweeper.params`` → Vertex AI parameter specs, read as hydra-optuna-sweeper reads them.

Each entry is parsed by Hydra's own :class:`~hydra.core.override_parser.overrides_parser.OverridesParser`:

============================================  ===========================================
entry                                         ``studySpec.parameters[]``
============================================  ===========================================
``interval(a, b)`` (a float bound)            DOUBLE, ``UNIT_LINEAR_SCALE``
``tag(log, interval(a, b))``                  DOUBLE (INTEGER for int bounds), ``UNIT_LOG_SCALE``
``int(interval(a, b))``, ``range(a, b)``      INTEGER from a to b (**both** included)
``range(a, b, step)``, numeric ``choice``     DISCRETE, values sorted
any other ``choice``                          CATEGORICAL, values as text
a plain value                                 a fixed override, not a parameter
============================================  ===========================================

Example:
    >>> space = search_space({"x": "interval(0, 1)", "n": "range(1, 4)", "act": "choice(a, b)",
    ...                       "steps": "3"})
    >>> [p["parameterId"] for p in space.parameters], space.fixed
    (['x', 'n', 'act'], ['steps=3'])
    >>> space.parameters[1]
    {'parameterId': 'n', 'integerValueSpec': {'minValue': 1, 'maxValue': 4}, 'scaleType': 'UNIT_LINEAR_SCALE'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vertex_hydra.errors import ConfigurationError

__all__ = ["SearchSpace", "search_space", "parameter_spec", "add_conditions"]

_FORMS = (
    "interval(a, b), tag(log, interval(a, b)), int(interval(a, b)), range(a, b[, step]), "
    "choice(a, b, ...) or a fixed value"
)


@dataclass
class SearchSpace:
    """The parameters to tune and the fixed overrides every trial gets.

    Args:
        parameters: ``studySpec.parameters`` entries (camelCase dicts), in entry order.
        fixed: ``key=value`` overrides, in entry order.
        sources: ``parameterId`` -> where it was given (for error messages).
    """

    parameters: list[dict[str, Any]] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def search_space(params: Mapping[str, Any], arguments: Sequence[str] = ()) -> SearchSpace:
    """Read ``hydra.sweeper.params`` and the command line's overrides into a :class:`SearchSpace`.

    A key given in both keeps the command line's entry (it comes later, as in
    hydra-optuna-sweeper).

    Raises:
        ConfigurationError: An entry is not valid override syntax, or is a sweep
            Vertex AI cannot express; the message names the entry.

    Example:
        >>> search_space({"lr": "tag(log, interval(1e-4, 1e-1))"}).parameters[0]["scaleType"]
        'UNIT_LOG_SCALE'
        >>> search_space({"lr": "0.1"}, ["lr=interval(0.1, 0.5)", "seed=3"]).fixed
        ['seed=3']
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    entries: dict[str, tuple[str, str]] = {}  # key -> (where, text)
    for key, value in params.items():
        entries[str(key)] = (f"hydra.sweeper.params.{key}", f"{key}={_entry_text(value)}")
    for argument in arguments:
        override = _parse(parser, argument, f"the override {argument!r}")
        entries.pop(override.get_key_element(), None)
        entries[override.get_key_element()] = (f"the override {argument!r}", argument)
    space = SearchSpace()
    for where, text in entries.values():
        override = _parse(parser, text, where)
        if override.is_sweep_override():
            if override.is_add() or override.is_delete() or override.is_force_add():
                raise ConfigurationError(
                    f"{where}: a tuned parameter cannot carry '+', '++' or '~'. "
                    "Fix: put the key in the config with a default value and tune it without a prefix."
                )
            space.parameters.append(parameter_spec(override, where))
            space.sources[override.get_key_element()] = where
        else:
            space.fixed.append(text)
    return space


def _entry_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _parse(parser: Any, text: str, where: str) -> Any:
    from hydra.errors import HydraException

    try:
        return parser.parse_override(text)
    except HydraException as error:
        reason = " ".join(str(error).split())
        reason = reason.split(" See https://")[0]
        raise ConfigurationError(
            f"{where}: {text.partition('=')[2]!r} is not something Hydra's sweep grammar reads "
            f"({reason[:160]}). Fix: write {_FORMS}."
        ) from None


def parameter_spec(override: Any, where: str) -> dict[str, Any]:
    """One sweep override → one ``studySpec.parameters`` entry.

    Raises:
        ConfigurationError: The sweep has no Vertex form (e.g. empty range, log
            scale over non-positive bounds, an unknown tag).

    Example:
        >>> from hydra.core.override_parser.overrides_parser import OverridesParser
        >>> o = OverridesParser.create().parse_override("bs=choice(64, 16, 32)")
        >>> parameter_spec(o, "bs")
        {'parameterId': 'bs', 'discreteValueSpec': {'values': [16, 32, 64]}}
    """
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    pid = override.get_key_element()
    sweep = override.value()
    tags = set(getattr(sweep, "tags", ()) or ())
    unknown = sorted(tags - {"log"})
    if unknown:
        raise ConfigurationError(
            f"{where}: tag {unknown[0]!r} means nothing to the vertex sweeper. "
            "Fix: use tag(log, interval(a, b)) for a log scale, or drop the tag."
        )
    if isinstance(sweep, IntervalSweep):
        return _interval(pid, sweep.start, sweep.end, "log" in tags, where)
    if "log" in tags:
        raise ConfigurationError(
            f"{where}: tag(log, ...) only applies to an interval. "
            "Fix: write tag(log, interval(a, b))."
        )
    if isinstance(sweep, RangeSweep):
        return _range(pid, sweep.start, sweep.stop, sweep.step, where)
    if isinstance(sweep, ChoiceSweep):
        return _choice(pid, list(sweep.list), where)
    raise ConfigurationError(
        f"{where}: this kind of sweep ({type(sweep).__name__}) has no Vertex AI form. "
        f"Fix: write {_FORMS}."
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _interval(pid: str, low: Any, high: Any, log: bool, where: str) -> dict[str, Any]:
    if not (_number(low) and _number(high)) or not low < high:
        raise ConfigurationError(
            f"{where}: interval({low}, {high}) needs two numbers, the first smaller. "
            "Fix: write interval(low, high) with low < high."
        )
    if log and low <= 0:
        raise ConfigurationError(
            f"{where}: a log scale needs bounds above 0, got interval({low}, {high}). "
            "Fix: raise the lower bound above 0 or drop tag(log, ...)."
        )
    scale = "UNIT_LOG_SCALE" if log else "UNIT_LINEAR_SCALE"
    if isinstance(low, int) and isinstance(high, int):
        spec: dict[str, Any] = {"integerValueSpec": {"minValue": low, "maxValue": high}}
    else:
        spec = {"doubleValueSpec": {"minValue": float(low), "maxValue": float(high)}}
    return {"parameterId": pid, **spec, "scaleType": scale}


def _range(pid: str, start: Any, stop: Any, step: Any, where: str) -> dict[str, Any]:
    step = 1 if step is None else step
    if not (_number(start) and _number(stop) and _number(step)) or step == 0:
        raise ConfigurationError(
            f"{where}: range({start}, {stop}, {step}) needs numbers and a step other than 0. "
            "Fix: write range(start, stop[, step])."
        )
    integral = all(isinstance(v, int) for v in (start, stop, step))
    if integral and step == 1 and start < stop:
        return {
            "parameterId": pid,
            "integerValueSpec": {"minValue": start, "maxValue": stop},
            "scaleType": "UNIT_LINEAR_SCALE",
        }
    # Both ends included, as hydra-optuna-sweeper reads range (Hydra's basic sweeper excludes stop).
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count < 2:
        raise ConfigurationError(
            f"{where}: range({start}, {stop}, {step}) holds {max(count, 0)} value(s); a tuned "
            "parameter needs at least 2. Fix: widen the range, or write the value as a fixed override."
        )
    values = [start + i * step for i in range(count)]
    if not integral:
        values = [round(float(v), 12) for v in values]
    return {"parameterId": pid, "discreteValueSpec": {"values": sorted(values)}}


def _choice(pid: str, values: list[Any], where: str) -> dict[str, Any]:
    if len(values) < 2:
        raise ConfigurationError(
            f"{where}: choice() with {len(values)} value(s) tunes nothing. "
            "Fix: give at least 2 values, or write the value as a fixed override."
        )
    if all(_number(v) for v in values):
        ordered = sorted(values)
        if len(set(ordered)) != len(ordered):
            raise ConfigurationError(
                f"{where}: choice{tuple(values)} repeats a value; Vertex AI needs distinct "
                "values. Fix: remove the repeated value."
            )
        return {"parameterId": pid, "discreteValueSpec": {"values": ordered}}
    if any(isinstance(v, (list, dict)) for v in values):
        raise ConfigurationError(
            f"{where}: choice() of lists or dicts has no Vertex AI form (values are text). "
            "Fix: choose among config group options or plain values."
        )
    texts = [_entry_text(v) for v in values]
    if len(set(texts)) != len(texts):
        raise ConfigurationError(
            f"{where}: choice{tuple(texts)} repeats a value; Vertex AI needs distinct "
            "values. Fix: remove the repeated value."
        )
    return {"parameterId": pid, "categoricalValueSpec": {"values": texts}}


_PARENT_KEYS = {
    "categoricalValueSpec": "parentCategoricalValues",
    "discreteValueSpec": "parentDiscreteValues",
    "integerValueSpec": "parentIntValues",
}


def add_conditions(space: SearchSpace, conditional: Mapping[str, Any]) -> None:
    """Attach ``hydra.sweeper.conditional`` to its parents as ``conditionalParameterSpecs``.

    Hydra's sweep grammar cannot say "tune b only when a is x", so the block is
    its own: parent ``parameterId`` -> a list of ``{when: [values], params: {...}}``.

    Raises:
        ConfigurationError: The parent is not a tuned CATEGORICAL, DISCRETE or
            INTEGER parameter, or an entry lacks ``when``/``params``.

    Example:
        >>> space = search_space({"opt": "choice(adam, sgd)"})
        >>> add_conditions(space, {"opt": [{"when": ["sgd"],
        ...                                 "params": {"momentum": "interval(0, 0.99)"}}]})
        >>> child = space.parameters[0]["conditionalParameterSpecs"][0]
        >>> child["parentCategoricalValues"], child["parameterSpec"]["parameterId"]
        ({'values': ['sgd']}, 'momentum')
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    by_id = {p["parameterId"]: p for p in space.parameters}
    for parent_id, branches in conditional.items():
        where = f"hydra.sweeper.conditional.{parent_id}"
        parent = by_id.get(str(parent_id))
        kind = next((k for k in _PARENT_KEYS if parent and k in parent), None)
        if parent is None or kind is None:
            raise ConfigurationError(
                f"{where}: the parent must be a tuned choice(...) or integer range in "
                f"hydra.sweeper.params, got {'nothing' if parent is None else 'a float interval'}. "
                "Fix: tune the parent with choice(...) or range(a, b) first."
            )
        if not isinstance(branches, Sequence) or isinstance(branches, str):
            branches = [branches]
        children = parent.setdefault("conditionalParameterSpecs", [])
        for index, branch in enumerate(branches):
            if not isinstance(branch, Mapping) or "when" not in branch or "params" not in branch:
                raise ConfigurationError(
                    f"{where}[{index}] needs 'when' (the parent's values) and 'params' (the "
                    "children). Fix: write {when: [sgd], params: {model.momentum: interval(0, 1)}}."
                )
            when = branch["when"]
            values = (
                list(when) if isinstance(when, Sequence) and not isinstance(when, str) else [when]
            )
            if kind == "categoricalValueSpec":
                condition: list[Any] = [_entry_text(v) for v in values]
            elif kind == "integerValueSpec":
                condition = [int(v) for v in values]
            else:
                condition = [float(v) for v in values]
            for key, text in dict(branch["params"]).items():
                child_where = f"{where}[{index}].params.{key}"
                override = _parse(parser, f"{key}={_entry_text(text)}", child_where)
                if not override.is_sweep_override():
                    raise ConfigurationError(
                        f"{child_where}: a conditional parameter must be a sweep. Fix: write "
                        f"{_FORMS.rsplit(' or ', 1)[0]}."
                    )
                spec = parameter_spec(override, child_where)
                children.append({_PARENT_KEYS[kind]: {"values": condition}, "parameterSpec": spec})
                space.sources[spec["parameterId"]] = child_where
