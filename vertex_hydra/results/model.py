r"""The results model: :class:`StudyResults` of :class:`TrialResult`, each with its :class:`Measurement`\ s.

``vertex-hydra local`` builds it from its Optuna store and ``vertex-hydra results``
from a Vertex AI job; the renderers (:mod:`vertex_hydra.results.table`,
:mod:`vertex_hydra.results.plots`, :func:`vertex_hydra.results.render`) read only this.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
    >>> results = StudyResults(
    ...     metrics=(MetricSpec("val_loss", "MINIMIZE"),),
    ...     parameters=(ParameterSpec("model.lr", "DOUBLE", 1e-4, 1e-1),),
    ...     trials=[TrialResult("1", "SUCCEEDED", {"model.lr": 0.01}, {"val_loss": 0.3}),
    ...             TrialResult("2", "SUCCEEDED", {"model.lr": 0.001}, {"val_loss": 0.2})])
    >>> results.best().trial_id, results.best_overrides()
    ('2', 'model.lr=0.001')
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.translate import to_hydra_args

__all__ = ["TRIAL_STATES", "MEASURED_STATES", "Measurement", "TrialResult", "StudyResults"]

#: Every state a :class:`TrialResult` can have.
TRIAL_STATES = ("SUCCEEDED", "FAILED", "INFEASIBLE", "STOPPED", "ACTIVE")
# States whose final measurement is a real result: early-stopped trials keep
# their last measurement, as on Vertex AI, so they can be plotted and compared.
MEASURED_STATES = ("SUCCEEDED", "STOPPED")


@dataclass(frozen=True)
class Measurement:
    """One intermediate measurement of a trial, as Vertex AI records it.

    Args:
        step: The ``global_step`` it was reported at (Vertex's ``stepCount``).
        elapsed: Seconds since the trial started (Vertex's ``elapsedDuration``),
            when known.
        values: ``metricId`` -> value.

    Example:
        >>> Measurement(3, 1.5, {"val/acc": 0.9}).values["val/acc"]
        0.9
    """

    step: int
    elapsed: float | None
    values: dict[str, float]


@dataclass
class TrialResult:
    """One trial: its parameters, final measurement and what became of it.

    Args:
        trial_id: Vertex's trial id (``"1"``, ``"2"``, ...).
        state: One of :data:`TRIAL_STATES`.
        parameters: ``parameterId`` -> the value the trial received.
        values: ``metricId`` -> the final measurement (empty unless measured).
        seconds: Wall time of the trial, when known.
        measurements: Every intermediate :class:`Measurement`, sorted by step.
        error: Why the trial FAILED (exit status and stderr tail) or is INFEASIBLE.

    Example:
        >>> TrialResult("3", "FAILED", {"lr": 0.1}, {}, error="exit status 1").state
        'FAILED'
    """

    trial_id: str
    state: str
    parameters: dict[str, float | str]
    values: dict[str, float]
    seconds: float | None = None
    measurements: list[Measurement] = field(default_factory=list)
    error: str | None = None


@dataclass
class StudyResults:
    """All trials of a study, with the study's metrics and parameters.

    Args:
        metrics: The study's metrics; the first one ranks trials in :meth:`best`.
        parameters: The tuned parameters, in job-file order (table and CSV columns).
        trials: The trials, in the order they were created.

    Example:
        >>> StudyResults((MetricSpec("acc", "MAXIMIZE"),), (), []).best() is None
        True
    """

    metrics: tuple[MetricSpec, ...]
    parameters: tuple[ParameterSpec, ...]
    trials: list[TrialResult]

    def measured(self) -> list[TrialResult]:
        """The trials that have a finite value for every metric (SUCCEEDED or STOPPED).

        Example:
            >>> StudyResults((MetricSpec("acc", "MAXIMIZE"),), (), [
            ...     TrialResult("1", "FAILED", {}, {})]).measured()
            []
        """
        return [
            t
            for t in self.trials
            if t.state in MEASURED_STATES
            and all(math.isfinite(t.values.get(m.metric_id, math.nan)) for m in self.metrics)
        ]

    def best(self) -> TrialResult | None:
        """The best measured trial on the first metric (``None`` if none is measured).

        With several metrics the later ones break ties, so the answer is always
        on the Pareto front (see :meth:`pareto_front`). Ties left after that go to
        the earlier trial.

        Example:
            >>> StudyResults((MetricSpec("acc", "MAXIMIZE"),), (), [
            ...     TrialResult("1", "SUCCEEDED", {}, {"acc": 0.8}),
            ...     TrialResult("2", "STOPPED", {}, {"acc": 0.9})]).best().trial_id
            '2'
        """
        candidates = self.measured()
        if not candidates:
            return None
        return min(candidates, key=self._rank_key)

    def pareto_front(self) -> list[TrialResult]:
        """The measured trials that no other measured trial dominates on every metric.

        Example:
            >>> m = (MetricSpec("acc", "MAXIMIZE"), MetricSpec("ms", "MINIMIZE"))
            >>> r = StudyResults(m, (), [TrialResult("1", "SUCCEEDED", {}, {"acc": .9, "ms": 9}),
            ...                          TrialResult("2", "SUCCEEDED", {}, {"acc": .8, "ms": 1}),
            ...                          TrialResult("3", "SUCCEEDED", {}, {"acc": .7, "ms": 5})])
            >>> [t.trial_id for t in r.pareto_front()]
            ['1', '2']
        """
        measured = self.measured()
        return [t for t in measured if not any(self._dominates(o, t) for o in measured)]

    def best_overrides(self) -> str:
        """The best trial's parameters as one ready-to-paste, shell-quoted Hydra override line.

        Built with :func:`vertex_hydra.to_hydra_args` from the very arguments
        Vertex AI passes, so the values reach the config as in the trial.
        Empty when no trial is measured.

        Example:
            >>> print(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
            ...     (ParameterSpec("data.batch_size", "DISCRETE", values=(32, 64)),
            ...      ParameterSpec("model.act", "CATEGORICAL", values=("relu", "gelu new"))),
            ...     [TrialResult("1", "SUCCEEDED", {"data.batch_size": 64, "model.act": "gelu new"},
            ...                  {"acc": 0.9})]).best_overrides())
            data.batch_size=64 'model.act=gelu new'
        """
        best = self.best()
        if best is None:
            return ""
        args = [
            p.vertex_arg(best.parameters[p.parameter_id])
            for p in self.parameters
            if p.parameter_id in best.parameters
        ]
        return shlex.join(to_hydra_args(args))

    def _rank_key(self, trial: TrialResult) -> tuple[float, ...]:
        return tuple(
            -trial.values[m.metric_id] if m.goal == "MAXIMIZE" else trial.values[m.metric_id]
            for m in self.metrics
        )

    def _dominates(self, a: TrialResult, b: TrialResult) -> bool:
        ka, kb = self._rank_key(a), self._rank_key(b)
        return all(x <= y for x, y in zip(ka, kb)) and ka != kb
