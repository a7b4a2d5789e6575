"""The study a trial belongs to, carried in one environment variable: ``VERTEX_HYDRA_STUDY``.

Vertex AI passes a trial nothing but ``--<parameterId>=<value>`` arguments, so the
trial itself cannot tell an INTEGER ``64.0`` from a DOUBLE at an integral point,
a CATEGORICAL ``007`` from a number, or which metric the study optimises and in
which direction. Our own tools (``vertex-hydra local``, ``check``, ``submit`` and
the Hydra sweeper) therefore give every trial :data:`STUDY_ENV`, a JSON object::

    {"version": 1,
     "metrics": [{"metricId": "val/acc", "goal": "MAXIMIZE"}],
     "parameters": {"model.lr": {"type": "DOUBLE"},
                    "data.batch_size": {"type": "DISCRETE", "values": [32, 64]},
                    "model.act": {"type": "CATEGORICAL"}}}

``@vertex_compatible`` reads the parameter types from it, and
``HypertuneCallback``/``report_metric`` read the study's metric and goal. A job
created with gcloud directly can carry the same variable: ``vertex-hydra check``
prints the exact ``env:`` entry to paste into each worker pool's spec.

The format is versioned: a reader meets an unknown ``version`` (or malformed
JSON) with a :class:`StudyEnvWarning` and falls back to the rules for a trial
that carries no study, never with a wrong reading. The module imports nothing
beyond the standard library.

Example:
    >>> text = encode_study([("val/acc", "MAXIMIZE")], {"lr": ("DOUBLE", ()),
    ...                      "bs": ("DISCRETE", (32, 64))})
    >>> info = read_study({STUDY_ENV: text})
    >>> info.metrics[0].metric_id, info.parameters["bs"].value_type
    ('val/acc', 'int')
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "STUDY_ENV",
    "FORMAT_VERSION",
    "StudyEnvWarning",
    "StudyMetric",
    "StudyParameter",
    "StudyInfo",
    "encode_study",
    "read_study",
]

#: The environment variable that carries the study into each trial.
STUDY_ENV = "VERTEX_HYDRA_STUDY"
#: The version of the JSON format this module writes and reads.
FORMAT_VERSION = 1

_KINDS = ("DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL")
_GOALS = ("MAXIMIZE", "MINIMIZE")

ValueType = Literal["int", "float", "text"]


class StudyEnvWarning(UserWarning):
    """Warned when :data:`STUDY_ENV` is set but cannot be read (it is then ignored).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     read_study({STUDY_ENV: "not json"}) is None
        True
        >>> caught[0].category.__name__
        'StudyEnvWarning'
    """


@dataclass(frozen=True)
class StudyMetric:
    """One metric of the study and its goal.

    Example:
        >>> StudyMetric("val/loss", "MINIMIZE").mode
        'min'
    """

    metric_id: str
    goal: Literal["MAXIMIZE", "MINIMIZE"]

    @property
    def mode(self) -> Literal["min", "max"]:
        """The goal as Lightning spells it: ``"max"`` or ``"min"``."""
        return "max" if self.goal == "MAXIMIZE" else "min"


@dataclass(frozen=True)
class StudyParameter:
    """One tuned parameter's type (and, for DISCRETE, its values).

    Example:
        >>> StudyParameter("DISCRETE", (0.5, 1.0)).value_type
        'float'
        >>> StudyParameter("DOUBLE").value_type, StudyParameter("CATEGORICAL").value_type
        ('float', 'text')
    """

    kind: Literal["DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL"]
    values: tuple[float, ...] = ()

    @property
    def value_type(self) -> ValueType:
        """What the config should receive: ``"int"``, ``"float"`` or ``"text"`` (Hydra's reading).

        INTEGER is ``int``; DISCRETE is ``int`` when every value is integral, else
        ``float``; DOUBLE is ``float``; CATEGORICAL is ``text``.
        """
        if self.kind == "INTEGER":
            return "int"
        if self.kind == "DISCRETE":
            integral = self.values and all(float(v).is_integer() for v in self.values)
            return "int" if integral else "float"
        if self.kind == "DOUBLE":
            return "float"
        return "text"


@dataclass(frozen=True)
class StudyInfo:
    """What a trial knows about its study.

    Example:
        >>> StudyInfo((StudyMetric("acc", "MAXIMIZE"),), {}).metric_ids
        ['acc']
    """

    metrics: tuple[StudyMetric, ...]
    parameters: Mapping[str, StudyParameter] = field(default_factory=dict)

    @property
    def metric_ids(self) -> list[str]:
        """The ``metricId`` of every metric, in job-file order."""
        return [m.metric_id for m in self.metrics]

    def value_types(self) -> dict[str, ValueType]:
        """``parameterId`` -> what the config should receive (see :attr:`StudyParameter.value_type`).

        Example:
            >>> StudyInfo((), {"lr": StudyParameter("DOUBLE")}).value_types()
            {'lr': 'float'}
        """
        return {pid: p.value_type for pid, p in self.parameters.items()}


def _number(value: Any) -> float:
    number = float(value)
    return int(number) if number.is_integer() else number


def encode_study(
    metrics: Iterable[tuple[str, str]],
    parameters: Mapping[str, tuple[str, Sequence[float | str]]],
) -> str:
    """The value of :data:`STUDY_ENV` for a study (compact JSON, keys sorted).

    Args:
        metrics: ``(metricId, goal)`` pairs, in job-file order.
        parameters: ``parameterId`` -> ``(type, values)``; values are kept for
            DISCRETE parameters only.

    Example:
        >>> encode_study([("loss", "MINIMIZE")], {"bs": ("DISCRETE", [32.0, 64.0])})
        '{"metrics":[{"goal":"MINIMIZE","metricId":"loss"}],"parameters":{"bs":{"type":"DISCRETE","values":[32,64]}},"version":1}'
    """
    params: dict[str, dict[str, Any]] = {}
    for pid, (kind, values) in parameters.items():
        entry: dict[str, Any] = {"type": kind}
        if kind == "DISCRETE":
            entry["values"] = [_number(v) for v in values]
        params[str(pid)] = entry
    record = {
        "version": FORMAT_VERSION,
        "metrics": [{"metricId": str(m), "goal": str(g)} for m, g in metrics],
        "parameters": params,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _warn(text: str, why: str) -> None:
    shown = text if len(text) <= 80 else text[:77] + "..."
    warnings.warn(
        f"{STUDY_ENV}={shown!r} is ignored: {why}. The trial falls back to the rules for a "
        "trial without its study (text rules for values, CLOUD_ML_HP_METRIC_TAG for the "
        "metric). Fix: set it with vertex_hydra.study_env.encode_study(), or unset it.",
        StudyEnvWarning,
        stacklevel=3,
    )


def _parse(data: Any) -> StudyInfo:
    if not isinstance(data, dict):
        raise ValueError("it is not a JSON object")
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"its version is {data.get('version')!r}, and this vertex-hydra reads version "
            f"{FORMAT_VERSION}"
        )
    metrics = []
    for m in data.get("metrics") or []:
        if not isinstance(m, dict) or m.get("goal") not in _GOALS or not m.get("metricId"):
            raise ValueError(f"metric {m!r} needs a metricId and a goal of {_GOALS}")
        metrics.append(StudyMetric(str(m["metricId"]), m["goal"]))
    parameters: dict[str, StudyParameter] = {}
    raw_params = data.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ValueError("'parameters' is not an object")
    for pid, p in raw_params.items():
        if not isinstance(p, dict) or p.get("type") not in _KINDS:
            raise ValueError(f"parameter {pid!r} needs a type of {_KINDS}")
        values = tuple(float(v) for v in p.get("values") or ())
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"parameter {pid!r} has a non-finite value")
        parameters[str(pid)] = StudyParameter(p["type"], values)
    return StudyInfo(tuple(metrics), parameters)


def read_study(environ: Mapping[str, str] | None = None) -> StudyInfo | None:
    """The study of this trial, from :data:`STUDY_ENV`; ``None`` when it is unset or unreadable.

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        The study, or ``None`` (a :class:`StudyEnvWarning` says why when the
        variable is set but cannot be read).

    Example:
        >>> read_study({}) is None
        True
        >>> read_study({STUDY_ENV: encode_study([("acc", "MAXIMIZE")], {})}).metrics
        (StudyMetric(metric_id='acc', goal='MAXIMIZE'),)
    """
    env = os.environ if environ is None else environ
    text = env.get(STUDY_ENV)
    if not text:
        return None
    try:
        return _parse(json.loads(text))
    except (ValueError, TypeError) as error:
        why = "it is not JSON" if isinstance(error, json.JSONDecodeError) else str(error)
        _warn(text, why)
        return None
