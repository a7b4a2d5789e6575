"""What each plot of a study shows, computed once for both renderers.

The PNGs (:mod:`vertex_hydra.results.plots`, matplotlib) and ``report.html``
(:mod:`vertex_hydra.results.html`, plotly) draw the same numbers: the learning
curves of the first metric, where each trial sits on a parameter's axis, and the
parallel-coordinates columns. This module holds those numbers and imports
nothing heavy.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec
    >>> from vertex_hydra.results.model import Measurement, StudyResults, TrialResult
    >>> r = StudyResults((MetricSpec("loss", "MINIMIZE"),), (), [TrialResult(
    ...     "1", "STOPPED", {}, {"loss": 0.5},
    ...     measurements=[Measurement(1, None, {"loss": 0.9}), Measurement(2, None, {"loss": 0.5})])])
    >>> learning_curves(r)
    [Curve(trial_id='1', state='STOPPED', steps=(1, 2), values=(0.9, 0.5))]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.results.model import StudyResults, TrialResult

__all__ = [
    "Curve",
    "learning_curves",
    "ParameterAxis",
    "parameter_axis",
    "ParallelColumn",
    "parallel_columns",
    "safe_name",
]


def safe_name(parameter_id: str) -> str:
    """A file-name-safe form of a ``parameterId`` (for ``param_<id>.png``).

    Example:
        >>> safe_name("model/lr (x)")
        'model_lr__x_'
    """
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in parameter_id)


@dataclass(frozen=True)
class Curve:
    """One trial's learning curve: the first metric at each measured step.

    A STOPPED trial's curve ends where the stopping rule cut it: its last point.

    Example:
        >>> Curve("3", "STOPPED", (1, 2), (0.4, 0.6)).values[-1]
        0.6
    """

    trial_id: str
    state: str
    steps: tuple[int, ...]
    values: tuple[float, ...]


def learning_curves(results: StudyResults) -> list[Curve]:
    """Every trial with at least one finite measurement of the first metric, by step.

    Trials of any state count (a FAILED trial's curve shows how far it got).

    Example:
        >>> learning_curves(StudyResults((MetricSpec("acc", "MAXIMIZE"),), (), []))
        []
    """
    if not results.metrics:
        return []
    metric = results.metrics[0].metric_id
    curves = []
    for trial in results.trials:
        points = sorted(
            (m.step, m.values[metric])
            for m in trial.measurements
            if metric in m.values and math.isfinite(m.values[metric])
        )
        if points:
            steps, values = zip(*points)
            curves.append(Curve(trial.trial_id, trial.state, tuple(steps), tuple(values)))
    return curves


def _key(parameter: ParameterSpec, value: float | str) -> float | str:
    # DISCRETE values come back as floats (64.0) while the job file says 64.
    return float(value) if parameter.kind == "DISCRETE" else str(value)


def _label(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ParameterAxis:
    """Where trials sit along one parameter.

    DOUBLE and INTEGER values are their own coordinates (``log`` on a log
    scale). DISCRETE and CATEGORICAL values are spaced evenly, in job-file
    order, at ``0, 1, 2, ...`` and labelled by ``ticks``.

    Example:
        >>> axis = parameter_axis(ParameterSpec("bs", "DISCRETE", values=(32, 64)))
        >>> axis.position(64.0), axis.ticks
        (1.0, ((0.0, '32'), (1.0, '64')))
    """

    parameter: ParameterSpec
    log: bool
    ticks: tuple[tuple[float, str], ...]

    @property
    def categorical(self) -> bool:
        """Whether the axis lists values (DISCRETE or CATEGORICAL) rather than a range."""
        return self.parameter.kind in ("DISCRETE", "CATEGORICAL")

    def position(self, value: float | str) -> float:
        """The coordinate of ``value`` on this axis (NaN for a value the job does not list)."""
        if not self.categorical:
            return float(value)
        order = [_key(self.parameter, v) for v in self.parameter.values]
        key = _key(self.parameter, value)
        return float(order.index(key)) if key in order else math.nan


def parameter_axis(parameter: ParameterSpec) -> ParameterAxis:
    """The :class:`ParameterAxis` of ``parameter``.

    Example:
        >>> parameter_axis(ParameterSpec("lr", "DOUBLE", 1e-4, 1e-1, scale_type="UNIT_LOG_SCALE")).log
        True
    """
    ticks: tuple[tuple[float, str], ...] = ()
    if parameter.kind in ("DISCRETE", "CATEGORICAL"):
        ticks = tuple(
            (float(i), _label(_key(parameter, v))) for i, v in enumerate(parameter.values)
        )
    log = parameter.kind in ("DOUBLE", "INTEGER") and parameter.scale_type == "UNIT_LOG_SCALE"
    return ParameterAxis(parameter, log, ticks)


@dataclass(frozen=True)
class ParallelColumn:
    """One vertical axis of a parallel-coordinates plot, scaled to ``[0, 1]``.

    Args:
        label: The parameter or metric id.
        heights: One per trial, in ``[0, 1]``; NaN where the trial has no value
            (a conditional parameter), so its line has a gap there.
        ticks: ``(height, label)`` pairs to print along the axis.

    Example:
        >>> ParallelColumn("lr", (0.0, 1.0), ((0.0, "0.001"), (1.0, "0.1"))).label
        'lr'
    """

    label: str
    heights: tuple[float, ...]
    ticks: tuple[tuple[float, str], ...]


def _range_column(
    label: str, values: Sequence[float], low: float, high: float, log: bool, integer: bool = False
) -> ParallelColumn:
    def scale(v: float) -> float:
        return math.log10(v) if log else v

    lo, hi = scale(low), scale(high)
    span = hi - lo

    def height(v: float) -> float:
        if not math.isfinite(v) or (log and v <= 0):
            return math.nan
        return 0.5 if span == 0 else (scale(v) - lo) / span

    if integer and not log and 0 < span <= 6:  # every whole value, no tick at 1.5 layers
        ticks = [((v - lo) / span, str(int(v))) for v in range(int(lo), int(hi) + 1)]
    else:
        ticks = []
        for f in (0.0, 0.25, 0.5, 0.75, 1.0) if span else (0.5,):
            raw = lo + f * span if span else lo
            ticks.append((f, f"{10**raw if log else raw:.3g}"))
    return ParallelColumn(label, tuple(height(v) for v in values), tuple(ticks))


def parallel_columns(
    parameters: Sequence[ParameterSpec], metric: MetricSpec, trials: Sequence[TrialResult]
) -> list[ParallelColumn]:
    """One column per parameter (its job-file range or values), then the metric's.

    Parameters span their whole search space, so a crowded corner shows where
    the search went; the metric spans the values the ``trials`` reached.

    Example:
        >>> cols = parallel_columns((ParameterSpec("n", "INTEGER", 1, 5),),
        ...     MetricSpec("acc", "MAXIMIZE"),
        ...     [TrialResult("1", "SUCCEEDED", {"n": 2}, {"acc": 0.5}),
        ...      TrialResult("2", "SUCCEEDED", {"n": 5}, {"acc": 0.9})])
        >>> [(c.label, c.heights) for c in cols]
        [('n', (0.25, 1.0)), ('acc', (0.0, 1.0))]
    """
    columns = []
    for p in parameters:
        axis = parameter_axis(p)
        raw = [
            axis.position(t.parameters[p.parameter_id])
            if p.parameter_id in t.parameters
            else math.nan
            for t in trials
        ]
        if axis.categorical:
            top = max(len(p.values) - 1, 1)
            heights = tuple(v / top if len(p.values) > 1 else 0.5 for v in raw)
            ticks = tuple((pos / top if len(p.values) > 1 else 0.5, lab) for pos, lab in axis.ticks)
            columns.append(ParallelColumn(p.parameter_id, heights, ticks))
        else:
            finite = [v for v in raw if math.isfinite(v)]
            low = p.min_value if p.min_value is not None else min(finite, default=0.0)
            high = p.max_value if p.max_value is not None else max(finite, default=1.0)
            columns.append(
                _range_column(p.parameter_id, raw, low, high, axis.log, p.kind == "INTEGER")
            )
    values = [t.values.get(metric.metric_id, math.nan) for t in trials]
    finite = [v for v in values if math.isfinite(v)]
    columns.append(
        _range_column(
            metric.metric_id, values, min(finite, default=0.0), max(finite, default=1.0), False
        )
    )
    return columns
