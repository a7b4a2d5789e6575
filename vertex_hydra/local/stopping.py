"""Vertex AI's automated stopping rules, each behind one small interface: :class:`StoppingRule`.

The scheduler asks every rule of :func:`rules_for` about each running trial
that has a new measurement; a new rule (e.g. ``convexAutomatedStoppingSpec``) is
one more class here and one more line in :func:`rules_for`.

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

__all__ = ["MIN_COMPLETED", "MedianRule", "StoppingRule", "rules_for", "should_stop"]

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
        key = self.metric.metric_id
        return [
            (float(m.elapsed or 0.0) if self.elapsed else float(m.step), m.values[key])
            for m in curve
            if key in m.values and math.isfinite(m.values[key])
        ]

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
    applied = {r.name for r in rules}
    return rules, sorted(set(job.stopping) - applied)
