"""Parameter importances by Optuna's own evaluator, for any :class:`StudyResults`.

A local study and a Vertex job read the same way: the results are copied into
an in-memory Optuna study (:func:`in_memory_study`) and
:func:`optuna.importance.get_param_importances` (Optuna's default evaluator,
PED-ANOVA) ranks the parameters, once per metric. optuna is imported when called.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
    >>> from vertex_hydra.results.model import StudyResults
    >>> importance_note(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
    ...     (ParameterSpec("a", "DOUBLE", 0, 1), ParameterSpec("b", "DOUBLE", 0, 1)), []))
    'Parameter importances need at least 5 measured trials; this study has 0.'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from vertex_hydra.jobspec import ParameterSpec
from vertex_hydra.results.model import StudyResults

__all__ = ["MIN_TRIALS", "importance_note", "in_memory_study", "param_importances"]

#: Fewer measured trials than this give no importances (a ranking of noise).
MIN_TRIALS = 5

_STATES = {"SUCCEEDED": "COMPLETE", "STOPPED": "COMPLETE", "FAILED": "FAIL", "INFEASIBLE": "FAIL"}


def importance_note(results: StudyResults) -> str | None:
    """Why the study gets no importances, or ``None`` when it does.

    Example:
        >>> from vertex_hydra.jobspec import MetricSpec
        >>> importance_note(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
        ...     (ParameterSpec("a", "DOUBLE", 0, 1),), []))
        'Parameter importances need at least two tuned parameters; this study has 1.'
    """
    if len(results.parameters) < 2:
        return (
            "Parameter importances need at least two tuned parameters; "
            f"this study has {len(results.parameters)}."
        )
    measured = len(results.measured())
    if measured < MIN_TRIALS:
        return (
            f"Parameter importances need at least {MIN_TRIALS} measured trials; "
            f"this study has {measured}."
        )
    return None


def _distribution(p: ParameterSpec) -> Any:
    # Unlike the local sampler's space (vertex_hydra.local.search), this one
    # judges values, not samples them: DISCRETE numbers keep their order (a
    # range), and the values are the ones Vertex passed, on their own scale.
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    log = p.scale_type == "UNIT_LOG_SCALE"
    if p.kind == "DOUBLE":
        return FloatDistribution(float(p.min_value), float(p.max_value), log=log)  # type: ignore[arg-type]
    if p.kind == "INTEGER":
        return IntDistribution(int(p.min_value), int(p.max_value), log=log)  # type: ignore[arg-type]
    if p.kind == "DISCRETE":
        values = [float(v) for v in p.values]
        return FloatDistribution(min(values), max(values))
    return CategoricalDistribution([str(v) for v in p.values])


def _internal(p: ParameterSpec, value: float | str) -> float | int | str:
    if p.kind == "INTEGER":
        return int(float(value))
    if p.kind == "CATEGORICAL":
        return str(value)
    return float(value)


def in_memory_study(results: StudyResults) -> Any:
    """An in-memory :class:`optuna.study.Study` holding the results' trials.

    SUCCEEDED and STOPPED trials are COMPLETE with their final values (as in
    ``local``'s store), FAILED and INFEASIBLE are FAIL, ACTIVE ones are left out.
    Each trial's measurements of the first metric are its intermediate values,
    and its Vertex id is the user attribute ``vertex_trial_id``.

    Example:
        >>> from vertex_hydra.jobspec import MetricSpec
        >>> from vertex_hydra.results.model import Measurement, TrialResult
        >>> study = in_memory_study(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
        ...     (ParameterSpec("lr", "DOUBLE", 0.001, 0.1),),
        ...     [TrialResult("7", "SUCCEEDED", {"lr": 0.01}, {"acc": 0.9},
        ...                  measurements=[Measurement(1, None, {"acc": 0.8})])]))
        >>> t = study.trials[0]
        >>> t.params, t.values, t.intermediate_values, t.user_attrs
        ({'lr': 0.01}, [0.9], {1: 0.8}, {'vertex_trial_id': '7'})
    """
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions: list[Any] = [m.goal.lower() for m in results.metrics] or ["minimize"]
    study = optuna.create_study(directions=directions)
    measured = {id(t) for t in results.measured()}
    first = results.metrics[0].metric_id if results.metrics else None
    for t in results.trials:
        state = _STATES.get(t.state)
        if state is None or (state == "COMPLETE" and id(t) not in measured):
            continue
        specs = [p for p in results.parameters if p.parameter_id in t.parameters]
        distributions = {p.parameter_id: _distribution(p) for p in specs}
        params = {p.parameter_id: _internal(p, t.parameters[p.parameter_id]) for p in specs}
        steps = {
            m.step: m.values[first]
            for m in t.measurements
            if first in m.values and math.isfinite(m.values[first])
        }
        try:
            trial = create_trial(
                state=TrialState[state],
                params=params,
                distributions=distributions,
                values=[t.values[m.metric_id] for m in results.metrics]
                if state == "COMPLETE"
                else None,
                intermediate_values=steps,
                user_attrs={"vertex_trial_id": t.trial_id},
            )
        except ValueError:  # a value outside the job file's space: nothing to compare it with
            continue
        study.add_trial(trial)
    return study


def param_importances(results: StudyResults) -> dict[str, dict[str, float]]:
    """``metricId`` -> ``parameterId`` -> importance (summing to 1, most important first).

    Empty when :func:`importance_note` says why not.

    Example:
        >>> param_importances(results)["val/acc"]  # doctest: +SKIP
        {'model.optimizer.lr': 0.91, 'model.activation': 0.06, 'data.batch_size': 0.03}
    """
    if importance_note(results) is not None:
        return {}
    import optuna

    study = in_memory_study(results)
    answer: dict[str, dict[str, float]] = {}
    for index, metric in enumerate(results.metrics):
        # PED-ANOVA ranks by what drives a *low* target, and warns whenever a
        # target is given: the sign makes "low" mean "good", so the warning is moot.
        sign = -1.0 if metric.goal == "MAXIMIZE" else 1.0
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*low `target` values")
            # A conditional parameter is judged on the trials where it was active
            # (PED-ANOVA's default); a rare condition makes Optuna warn, once per study.
            warnings.filterwarnings("ignore", message="Some regimes for parameter")
            ranked = optuna.importance.get_param_importances(study, target=_target(index, sign))
        answer[metric.metric_id] = {name: float(value) for name, value in ranked.items()}
    return answer


def _target(index: int, sign: float) -> Callable[[Any], float]:
    def target(trial: Any) -> float:
        return sign * float(trial.values[index])

    return target
