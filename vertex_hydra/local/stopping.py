"""Vertex AI's median automated stopping rule (``studySpec.medianAutomatedStoppingSpec``).

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

import statistics
from collections.abc import Sequence

__all__ = ["MIN_COMPLETED", "should_stop"]

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
