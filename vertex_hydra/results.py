"""The results of a tuning study, and how they are shown: table, CSV and plots.

``vertex-hydra local`` (from its Optuna store) and ``vertex-hydra results`` (from
a Vertex AI job) both build a :class:`StudyResults` and hand it to :func:`render`,
so a local rehearsal and the real job read the same way.

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

import csv
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from vertex_hydra._table import format_table as _layout
from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.translate import to_hydra_args

__all__ = [
    "TRIAL_STATES",
    "Measurement",
    "StudyResults",
    "TrialResult",
    "format_table",
    "plot",
    "render",
    "write_csv",
]

#: Every state a :class:`TrialResult` can have.
TRIAL_STATES = ("SUCCEEDED", "FAILED", "INFEASIBLE", "STOPPED", "ACTIVE")
# States whose final measurement is a real result: early-stopped trials keep
# their last measurement, as on Vertex AI, so they can be plotted and compared.
_MEASURED = ("SUCCEEDED", "STOPPED")


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
            if t.state in _MEASURED
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


def _cell(value: float | str | None) -> str:
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
            + [_cell(t.parameters.get(pid)) for pid in ids]
            + [_cell(t.values.get(m.metric_id)) for m in results.metrics]
            + ["" if t.seconds is None else f"{t.seconds:.1f}"]
        )
    text = _layout(["trial", "state", *ids, *metric_heads, "seconds"], rows)
    notes = [f"trial {t.trial_id} {t.state}: {t.error}" for t in results.trials if t.error]
    return "\n".join([text, *notes])


def write_csv(results: StudyResults, path: str | Path) -> Path:
    """Write one row per trial to ``path``: ``trial_id, state, <parameterIds...>, value, seconds``.

    With several metrics, ``value`` becomes one column per metric, named
    ``value:<metricId>``, in job-file order. Empty cells mean "none".

    Example:
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


def plot(results: StudyResults, out_dir: str | Path) -> list[Path]:
    """Draw PNGs: ``history.png`` (value per trial and best so far) and one
    ``param_<parameterId>.png`` per parameter (value against the parameter).

    Each figure has one panel per metric. Only measured trials are drawn;
    nothing is drawn when there are none. matplotlib is imported here, not
    on import, and pyplot is never used, so a notebook's backend is untouched.

    Returns:
        The paths written.

    Example:
        >>> plot(results, "runs/study")  # doctest: +SKIP
        [PosixPath('runs/study/history.png'), PosixPath('runs/study/param_model.lr.png')]
    """
    from vertex_hydra._plots import history_figure, parameter_figure

    measured = results.measured()
    if not measured:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "history.png"]
    history_figure(results.metrics, measured).savefig(paths[0], dpi=100)
    for p in results.parameters:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in p.parameter_id)
        path = out / f"param_{safe}.png"
        parameter_figure(p, results.metrics, measured).savefig(path, dpi=100)
        paths.append(path)
    return paths


def render(results: StudyResults, workdir: str | Path, stream: TextIO) -> None:
    """Print the table and the best trial's overrides, then write ``trials.csv`` and the plots.

    Every file written is named on ``stream``.

    Example:
        >>> import sys
        >>> render(results, "runs/study", sys.stdout)  # doctest: +SKIP
        trial  state      model.lr  value (val_loss, MINIMIZE)  seconds
        ...
    """
    workdir = Path(workdir)
    stream.write(format_table(results) + "\n\n")
    best = results.best()
    if best is None:
        stream.write("No trial has a final measurement: there is no best trial.\n")
    else:
        shown = ", ".join(f"{k}={_cell(v)}" for k, v in best.values.items())
        stream.write(f"Best trial {best.trial_id}: {shown}\n")
        stream.write(f"Best overrides: {results.best_overrides()}\n")
    stream.write(f"Trials CSV: {write_csv(results, workdir / 'trials.csv')}\n")
    stream.writelines(f"Plot: {path}\n" for path in plot(results, workdir))
