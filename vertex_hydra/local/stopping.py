"""Vertex AI's automated stopping rules, each behind one small interface: :class:`StoppingRule`.

The scheduler asks every rule of :func:`rules_for` about each running trial
that has a new measurement; a new rule is one more class here and one more
line in :func:`rules_for`. :class:`ConvexRule` is ``convexAutomatedStoppingSpec``
(see its docs); ``decayCurveStoppingSpec`` has no published model and is named
as not rehearsed (:mod:`vertex_hydra.jobspec._rehearsal`).

:class:`MedianRule` is the median automated stopping rule
(``studySpec.medianAutomatedStoppingSpec``).

The API defines it so: *"stops a pending Trial if the Trial's best
objective_value is strictly below the median 'performance' of all completed
Trials reported up to the Trial's last measurement. 'Performance' refers to the
running average of the objective values reported by the Trial in each
measurement."* "Below" means worse under the metric's goal. Measurements are
placed by step, or by seconds since the trial started when
``useElapsedDuration`` is true. With several metrics the rule watches the first.

The rule waits for :data:`MIN_COMPLETED` completed trials with a measurement at
or before the running trial's last one (the API leaves this number unsaid; a
median of one or two trials would stop good trials on noise).

Example:
    >>> done = [[(1, 0.5), (2, 0.7)], [(1, 0.6), (2, 0.8)], [(1, 0.4), (2, 0.6)]]
    >>> should_stop([(1, 0.2), (2, 0.3)], done, "MAXIMIZE")
    True
    >>> should_stop([(1, 0.2), (2, 0.9)], done, "MAXIMIZE")
    False
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, Protocol

from vertex_hydra.jobspec import JobSpec, MetricSpec
from vertex_hydra.results import Measurement

__all__ = [
    "MIN_COMPLETED",
    "ConvexRule",
    "MedianRule",
    "StoppingRule",
    "convex_prediction",
    "rules_for",
    "should_stop",
]

#: Completed trials needed at a point before the rule may stop a trial there.
MIN_COMPLETED = 3


def should_stop(
    running: Sequence[tuple[float, float]],
    completed: Sequence[Sequence[tuple[float, float]]],
    goal: str,
    *,
    min_completed: int = MIN_COMPLETED,
) -> bool:
    """Whether the median rule stops a running trial now.

    Args:
        running: The running trial's measurements ``(position, value)``, in
            order; position is a step, or seconds when ``useElapsedDuration``.
        completed: The same for each completed trial.
        goal: ``"MAXIMIZE"`` or ``"MINIMIZE"``.
        min_completed: Completed trials needed before the rule applies.

    Example:
        >>> should_stop([(1, 9.0)], [[(1, 1.0)]] * 3, "MINIMIZE")
        True
    """
    if not running:
        return False
    last_position = running[-1][0]
    values = [v for _, v in running]
    best = max(values) if goal == "MAXIMIZE" else min(values)
    performances = []
    for trial in completed:
        upto = [v for position, v in trial if position <= last_position]
        if upto:
            performances.append(sum(upto) / len(upto))
    if len(performances) < min_completed:
        return False
    median = statistics.median(performances)
    return best < median if goal == "MAXIMIZE" else best > median


def _positions(curve: Sequence[Measurement], key: str, elapsed: bool) -> list[tuple[float, float]]:
    """``(position, value)`` of each finite measurement of ``key``: step, or seconds."""
    return [
        (float(m.elapsed or 0.0) if elapsed else float(m.step), m.values[key])
        for m in curve
        if key in m.values and math.isfinite(m.values[key])
    ]


class StoppingRule(Protocol):
    """One automated stopping rule: whether a running trial stops now, and why.

    Example:
        >>> class Never:
        ...     name = "never"
        ...     def check(self, running, completed):
        ...         return None
        >>> Never().check([], []) is None
        True
    """

    #: The ``studySpec`` field the rule implements.
    name: str

    def check(
        self, running: Sequence[Measurement], completed: Sequence[Sequence[Measurement]]
    ) -> str | None:
        """``None`` to let the trial run, else the reason it stops (one line).

        Args:
            running: The running trial's measurements, by step.
            completed: Those of each completed trial (SUCCEEDED or STOPPED).
        """
        ...


class MedianRule:
    """``medianAutomatedStoppingSpec`` on the study's first metric (see the module docs).

    Args:
        spec: The spec (``useElapsedDuration`` places measurements by seconds).
        metric: The metric it watches.

    Example:
        >>> rule = MedianRule({}, MetricSpec("acc", "MAXIMIZE"))
        >>> done = [[Measurement(1, 1.0, {"acc": v})] for v in (0.5, 0.6, 0.4)]
        >>> rule.check([Measurement(1, 1.0, {"acc": 0.1})], done)
        'worse than the median of finished trials at step 1 (median rule)'
    """

    name = "medianAutomatedStoppingSpec"

    def __init__(self, spec: dict[str, Any], metric: MetricSpec) -> None:
        self.elapsed = bool(spec.get("useElapsedDuration"))
        self.metric = metric

    def _positions(self, curve: Sequence[Measurement]) -> list[tuple[float, float]]:
        return _positions(curve, self.metric.metric_id, self.elapsed)

    def check(
        self, running: Sequence[Measurement], completed: Sequence[Sequence[Measurement]]
    ) -> str | None:
        """See :meth:`StoppingRule.check`."""
        mine = self._positions(running)
        done = [self._positions(c) for c in completed]
        if not should_stop(mine, done, self.metric.goal):
            return None
        where = "s" if self.elapsed else "step"
        return f"worse than the median of finished trials at {where} {mine[-1][0]:g} (median rule)"


def _number(value: Any, default: float | None) -> float | None:
    if value is None:
        return default
    return float(value)


def convex_prediction(curve: Sequence[tuple[float, float]], at: float, goal: str) -> float | None:
    """An over-estimate of a curve's value at position ``at``, or ``None`` for a flat curve.

    With ``u`` the value in the goal's direction (``-value`` under MINIMIZE), it
    is the curve's best ``u`` plus its steepest improving slope between two
    consecutive measurements, times the distance from the last measurement to
    ``at``. A curve of diminishing returns (``u`` concave in the position: a
    convex loss, an accuracy that levels off) never ends above it, which is the
    bound the rule's name and "overestimate" describe.

    Args:
        curve: ``(position, value)`` in order; at least two positions.
        at: Where to predict (``maxStepCount``).
        goal: ``"MAXIMIZE"`` or ``"MINIMIZE"``.

    Example:
        >>> round(convex_prediction([(1, 1.0), (2, 0.8), (3, 0.7)], 10, "MINIMIZE"), 6)
        -0.7
        >>> convex_prediction([(1, 0.5), (2, 0.5)], 10, "MAXIMIZE") is None
        True
    """
    sign = 1.0 if goal == "MAXIMIZE" else -1.0
    points = [(x, sign * v) for x, v in curve]
    if len({u for _, u in points}) < 2:
        return None  # "No prediction can be made if the curve is completely flat."
    slopes = [(u2 - u1) / (x2 - x1) for (x1, u1), (x2, u2) in zip(points, points[1:]) if x2 > x1]
    slope = max([0.0, *slopes])
    best = max(u for _, u in points)
    return sign * (best + slope * max(0.0, at - points[-1][0]))


class ConvexRule:
    """``convexAutomatedStoppingSpec`` on the study's first metric.

    The API's definition: *"When there are enough completed trials (configured
    by min_measurement_count), for pending trials with enough measurements and
    steps, the policy first computes an overestimate of the objective value at
    max_num_steps according to the slope of the incomplete objective value
    curve. No prediction can be made if the curve is completely flat. If the
    overestimation is worse than the best objective value of the completed
    trials, this pending trial will be early-stopped."*

    Applied here, field by field:

    - ``minMeasurementCount`` (default 5): the rule waits for
      ``minMeasurementCount + 1`` completed trials (SUCCEEDED or STOPPED, with a
      measurement) and for that many measurements of the running trial.
    - ``maxStepCount``: where the objective is predicted; when unset it is
      learnt from the completed trials, as their largest last position.
    - ``minStepCount`` (default ``maxStepCount / 10``; ``0`` allowed): a trial
      with no measurement past it is not considered.
    - ``useElapsedDuration``: positions are seconds since the trial started,
      and both counts are seconds.
    - The over-estimate is :func:`convex_prediction` over the last
      ``minMeasurementCount`` measurements (at least two); Vertex's
      autoregression model is not published.
    - "The best objective value of the completed trials" is each completed
      trial's final value (its last measurement, or its best under
      ``BEST_MEASUREMENT``), best over the trials.

    Not applied: the API adds a last measurement at ``maxStepCount`` holding
    the predicted value to a stopped trial; here a stopped trial keeps its
    last real measurement. ``learningRateParameterName`` and
    ``updateAllStoppedTrials`` are named as not rehearsed.

    Args:
        spec: The spec's fields, as in the job file.
        metric: The metric it watches.
        selection: ``measurementSelectionType`` (how a completed trial's final value is read).

    Example:
        >>> rule = ConvexRule({"minMeasurementCount": 2, "maxStepCount": 10},
        ...                   MetricSpec("loss", "MINIMIZE"))
        >>> done = [[Measurement(s, 1.0, {"loss": 1 / s}) for s in range(1, 11)]] * 3
        >>> rule.check([Measurement(s, 1.0, {"loss": 5.0 - 0.1 * s}) for s in (1, 2)], done)
        'predicted 4 at step 10, worse than the best finished trial (0.1) (convex rule)'
        >>> rule.check([Measurement(s, 1.0, {"loss": 1 - 0.2 * s}) for s in (1, 2)], done) is None
        True
    """

    name = "convexAutomatedStoppingSpec"

    def __init__(
        self, spec: dict[str, Any], metric: MetricSpec, selection: str = "LAST_MEASUREMENT"
    ) -> None:
        self.metric, self.selection = metric, selection
        self.elapsed = bool(spec.get("useElapsedDuration"))
        self.max_step = _number(spec.get("maxStepCount"), None) or None
        self.min_step = _number(spec.get("minStepCount"), None)
        count = spec.get("minMeasurementCount")
        self.min_measurements = int(float(count)) if count else 5

    def _positions(self, curve: Sequence[Measurement]) -> list[tuple[float, float]]:
        return _positions(curve, self.metric.metric_id, self.elapsed)

    def _final(self, curve: Sequence[tuple[float, float]]) -> float:
        values = [v for _, v in curve]
        if self.selection != "BEST_MEASUREMENT":
            return values[-1]
        return max(values) if self.metric.goal == "MAXIMIZE" else min(values)

    def check(
        self, running: Sequence[Measurement], completed: Sequence[Sequence[Measurement]]
    ) -> str | None:
        """See :meth:`StoppingRule.check`."""
        mine = self._positions(running)
        done = [curve for curve in (self._positions(c) for c in completed) if curve]
        if len(done) < self.min_measurements + 1 or len(mine) < self.min_measurements:
            return None
        max_step = self.max_step or max(curve[-1][0] for curve in done)
        min_step = max_step / 10 if self.min_step is None else self.min_step
        if not any(position > min_step for position, _ in mine):
            return None
        predicted = convex_prediction(
            mine[-max(2, self.min_measurements) :], max_step, self.metric.goal
        )
        if predicted is None:
            return None
        finals = [self._final(curve) for curve in done]
        maximize = self.metric.goal == "MAXIMIZE"
        best = max(finals) if maximize else min(finals)
        if (predicted >= best) if maximize else (predicted <= best):
            return None
        where = "s" if self.elapsed else "step"
        return (
            f"predicted {predicted:.4g} at {where} {max_step:g}, worse than the best "
            f"finished trial ({best:.4g}) (convex rule)"
        )


def rules_for(job: JobSpec) -> tuple[list[StoppingRule], list[str]]:
    """The rules of the job's ``studySpec`` that apply locally, and the names of those that do not.

    Example:
        >>> rules_for(job)  # doctest: +SKIP
        ([<...MedianRule ...>], ['decayCurveStoppingSpec'])
    """
    rules: list[StoppingRule] = []
    spec = job.stopping.get("medianAutomatedStoppingSpec")
    if spec is not None:
        rules.append(MedianRule(dict(spec), job.metrics[0]))
    spec = job.stopping.get("convexAutomatedStoppingSpec")
    if spec is not None:
        rules.append(ConvexRule(dict(spec), job.metrics[0], job.measurement_selection))
    applied = {r.name for r in rules}
    return rules, sorted(set(job.stopping) - applied)
