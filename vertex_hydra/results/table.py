"""The trials table and ``trials.csv``: one row per trial.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
    >>> from vertex_hydra.results.model import StudyResults, TrialResult
    >>> print(format_table(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
    ...     (ParameterSpec("lr", "DOUBLE", 0.001, 0.1),),
    ...     [TrialResult("2", "FAILED", {"lr": 0.1}, {}, error="exit status 1")])))
    trial  state   lr   value (acc, MAXIMIZE)  seconds
    -----  ------  ---  ---------------------  -------
    2      FAILED  0.1
    trial 2 FAILED: exit status 1
"""

from __future__ import annotations

import csv
from pathlib import Path

from vertex_hydra._table import layout_table
from vertex_hydra.results.model import StudyResults

__all__ = ["format_table", "write_csv", "format_cell"]


def format_cell(value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _value_columns(results: StudyResults) -> list[str]:
    if len(results.metrics) == 1:
        return ["value"]
    return [f"value:{m.metric_id}" for m in results.metrics]


def format_table(results: StudyResults) -> str:
    """One row per trial: id, state, each parameter, the value(s), the duration.

    The best trial is marked ``*``; with several metrics every Pareto-optimal
    trial is. A FAILED or INFEASIBLE trial's reason follows the table.

    Example:
        >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
        >>> from vertex_hydra.results.model import TrialResult
        >>> print(format_table(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
        ...     (ParameterSpec("lr", "DOUBLE", 0.001, 0.1),),
        ...     [TrialResult("1", "SUCCEEDED", {"lr": 0.01}, {"acc": 0.93}, seconds=4.25)])))
        trial  state      lr    value (acc, MAXIMIZE)  seconds
        -----  ---------  ----  ---------------------  -------
        1 *    SUCCEEDED  0.01  0.93                   4.2
    """
    ids = [p.parameter_id for p in results.parameters]
    marked = {id(t) for t in results.pareto_front()} if len(results.metrics) > 1 else set()
    best = results.best()
    if best is not None:
        marked.add(id(best))
    metric_heads = [f"value ({m.metric_id}, {m.goal})" for m in results.metrics]
    if len(results.metrics) > 1:
        metric_heads = [f"{m.metric_id} ({m.goal})" for m in results.metrics]
    rows = []
    for t in results.trials:
        rows.append(
            [t.trial_id + (" *" if id(t) in marked else ""), t.state]
            + [format_cell(t.parameters.get(pid)) for pid in ids]
            + [format_cell(t.values.get(m.metric_id)) for m in results.metrics]
            + ["" if t.seconds is None else f"{t.seconds:.1f}"]
        )
    text = layout_table(["trial", "state", *ids, *metric_heads, "seconds"], rows)
    notes = [f"trial {t.trial_id} {t.state}: {t.error}" for t in results.trials if t.error]
    return "\n".join([text, *notes])


def write_csv(results: StudyResults, path: str | Path) -> Path:
    """Write one row per trial to ``path``: ``trial_id, state, <parameterIds...>, value, seconds``.

    With several metrics, ``value`` becomes one column per metric, named
    ``value:<metricId>``, in job-file order. Empty cells mean "none".

    Example:
        >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
        >>> from vertex_hydra.results.model import TrialResult
        >>> import tempfile, pathlib
        >>> out = write_csv(StudyResults((MetricSpec("acc", "MAXIMIZE"),),
        ...     (ParameterSpec("lr", "DOUBLE", 0.001, 0.1),),
        ...     [TrialResult("1", "SUCCEEDED", {"lr": 0.01}, {"acc": 0.93}, seconds=4.0)]),
        ...     pathlib.Path(tempfile.mkdtemp()) / "trials.csv")
        >>> out.read_text().splitlines()
        ['trial_id,state,lr,value,seconds', '1,SUCCEEDED,0.01,0.93,4.0']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [p.parameter_id for p in results.parameters]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial_id", "state", *ids, *_value_columns(results), "seconds"])
        for t in results.trials:
            writer.writerow(
                [t.trial_id, t.state]
                + [_csv_cell(t.parameters.get(pid)) for pid in ids]
                + [_csv_cell(t.values.get(m.metric_id)) for m in results.metrics]
                + [_csv_cell(t.seconds)]
            )
    return path


def _csv_cell(value: float | str | None) -> str:
    # repr keeps every digit, so the CSV round-trips the exact values tried.
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)
