"""The PNG plots of a study, written by :func:`plot` for ``local`` and ``results`` alike.

* ``history.png``: each metric's final value per trial, and the best so far;
* ``learning_curves.png``: the first metric at every measured step, one line per
  trial, with an ``x`` where the stopping rule cut a STOPPED trial;
* ``importances.png``: Optuna's parameter importances, per metric
  (:mod:`vertex_hydra.results.importance`);
* ``parallel_coordinates.png``: every trial across all parameters and the first metric;
* ``pareto.png``: with several metrics, the first two against each other and the front;
* ``param_<parameterId>.png``: each metric against one parameter.

The best trial (:meth:`StudyResults.best`) is marked with a star, or a thick
line, in every plot that shows trials. The numbers come from
:mod:`vertex_hydra.results.views`, which ``report.html`` draws too.

matplotlib is imported only when a figure is drawn. Figures are built with
:class:`matplotlib.figure.Figure` and the Agg canvas, never with pyplot, so
plotting does not change the backend of a notebook or leave open figures behind.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec
    >>> from vertex_hydra.results.model import TrialResult
    >>> fig = history_figure((MetricSpec("acc", "MAXIMIZE"),),
    ...                      [TrialResult("1", "SUCCEEDED", {}, {"acc": 0.9})])
    >>> len(fig.axes)
    1
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.results._mpl import figure, mark_best, scatter_states
from vertex_hydra.results.model import StudyResults, TrialResult
from vertex_hydra.results.plots_study import (
    importance_figure,
    learning_curve_figure,
    parallel_figure,
    pareto_figure,
)
from vertex_hydra.results.views import parameter_axis, safe_name

#: The most processes :func:`plot` draws in at once.
_MAX_WORKERS = 4

__all__ = [
    "plot",
    "figures",
    "warm_up",
    "sample_results",
    "history_figure",
    "parameter_figure",
    "learning_curve_figure",
    "importance_figure",
    "parallel_figure",
    "pareto_figure",
]


def history_figure(
    metrics: Sequence[MetricSpec], trials: Sequence[TrialResult], best: TrialResult | None = None
) -> Any:
    """Each metric's final value per trial, in trial order, with the best value so far.

    Example:
        >>> history_figure((MetricSpec("loss", "MINIMIZE"),), []).axes[0].get_xlabel()
        'trial'
    """
    fig = figure(len(metrics))
    for ax, metric in zip(fig.subplots(len(metrics), 1, squeeze=False)[:, 0], metrics):
        shown = [t for t in trials if metric.metric_id in t.values]
        ys = [t.values[metric.metric_id] for t in shown]
        labels = [t.trial_id for t in shown]
        # Vertex ids are "1", "2", ...: place trials by id so gaps show failed trials.
        numeric = all(label.isdigit() for label in labels)
        xs = [int(label) for label in labels] if numeric else list(range(1, len(ys) + 1))
        scatter_states(ax, xs, ys, [t.state for t in shown])
        pick = max if metric.goal == "MAXIMIZE" else min
        so_far = [pick(ys[: i + 1]) for i in range(len(ys))]
        ax.step(xs, so_far, where="post", color="tab:green", label="best so far")
        if best is not None and best in shown:
            i = shown.index(best)
            mark_best(ax, xs[i], ys[i], best.trial_id)
        if not numeric or len(xs) <= 20:
            ax.set_xticks(xs, labels)
        ax.set(
            xlabel="trial",
            ylabel=metric.metric_id,
            title=f"Optimisation history ({metric.goal.lower()} {metric.metric_id})",
        )
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    return fig


def parameter_figure(
    parameter: ParameterSpec,
    metrics: Sequence[MetricSpec],
    trials: Sequence[TrialResult],
    best: TrialResult | None = None,
) -> Any:
    """Each metric's final value against one parameter (log axis on a log scale).

    Categorical and discrete values are spaced evenly, in job-file order. The
    ``best`` trial, when given and shown, gets a star.

    Example:
        >>> parameter_figure(ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu")),
        ...                  (MetricSpec("loss", "MINIMIZE"),), []).axes[0].get_xlabel()
        'act'
    """
    from matplotlib.ticker import MaxNLocator

    fig = figure(len(metrics))
    pid = parameter.parameter_id
    axis = parameter_axis(parameter)
    for ax, metric in zip(fig.subplots(len(metrics), 1, squeeze=False)[:, 0], metrics):
        shown = [t for t in trials if pid in t.parameters and metric.metric_id in t.values]
        ys = [t.values[metric.metric_id] for t in shown]
        xs = [axis.position(t.parameters[pid]) for t in shown]
        if axis.categorical:
            ax.set_xticks([p for p, _ in axis.ticks], [label for _, label in axis.ticks])
        else:
            if axis.log:
                ax.set_xscale("log")
            if parameter.kind == "INTEGER":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no tick at 1.25 layers
        scatter_states(ax, xs, ys, [t.state for t in shown])
        if best is not None and best in shown:
            i = shown.index(best)
            mark_best(ax, xs[i], ys[i], best.trial_id)
        ax.set(xlabel=pid, ylabel=metric.metric_id, title=f"{metric.metric_id} against {pid}")
        ax.grid(alpha=0.3)
        if len({t.state for t in shown}) > 1 or best in shown:  # say what each mark is
            ax.legend(loc="best", fontsize="small")
    return fig


def _builders(
    results: StudyResults, importances: Mapping[str, Mapping[str, float]] | None
) -> list[tuple[str, Callable[[], Any]]]:
    """``(file name, a function that builds its figure)`` for each plot of ``results``."""
    from vertex_hydra.results.importance import param_importances
    from vertex_hydra.results.views import learning_curves, parallel_columns

    measured = results.measured()
    if not measured:
        return []
    best = results.best()
    metrics, first = results.metrics, results.metrics[0]
    builders: list[tuple[str, Callable[[], Any]]] = [
        ("history.png", lambda: history_figure(metrics, measured, best))
    ]
    curves = learning_curves(results)
    if curves:
        builders.append(("learning_curves.png", lambda: learning_curve_figure(first, curves, best)))
    shares = param_importances(results) if importances is None else importances
    if shares:
        builders.append(("importances.png", lambda: importance_figure(shares)))
    if results.parameters:
        columns = parallel_columns(results.parameters, first, measured)
        builders.append(
            (
                "parallel_coordinates.png",
                lambda: parallel_figure(columns, measured, results, best),
            )
        )
    if len(metrics) > 1:
        builders.append(("pareto.png", lambda: pareto_figure(results)))
    for p in results.parameters:
        builders.append(
            (
                f"param_{safe_name(p.parameter_id)}.png",
                partial(parameter_figure, p, metrics, measured, best),
            )
        )
    return builders


def figures(
    results: StudyResults, importances: Mapping[str, Mapping[str, float]] | None = None
) -> list[tuple[str, Any]]:
    """The study's figures, unsaved: ``(file name, matplotlib Figure)`` pairs (see :func:`plot`).

    Args:
        results: The study.
        importances: ``metricId`` -> ``parameterId`` -> importance for
            ``importances.png`` (default: computed by
            :func:`vertex_hydra.results.importance.param_importances`).

    Example:
        >>> [name for name, _ in figures(results)]  # doctest: +SKIP
        ['history.png', 'learning_curves.png', 'parallel_coordinates.png', 'param_model.lr.png']
    """
    return [(name, build()) for name, build in _builders(results, importances)]


def _save(builders: Sequence[tuple[str, Callable[[], Any]]], out: Path) -> None:
    for name, build in builders:
        build().savefig(out / name, dpi=100)


def _workers(count: int) -> int:
    """Processes to draw ``count`` figures with: forked copies of this one, where that is safe.

    Only on Linux (fork is the platform's way there) and only in a process with
    no other thread (a forked thread's locks would stay held in the copy): a
    notebook kernel, for one, draws in this process alone.
    """
    if sys.platform != "linux" or threading.active_count() > 1:
        return 1
    return max(1, min(count, len(os.sched_getaffinity(0)), _MAX_WORKERS))


def _save_in_parallel(builders: Sequence[tuple[str, Callable[[], Any]]], out: Path) -> None:
    """Save the figures, shared among :func:`_workers` processes (this one and forked copies).

    A copy that fails (or cannot be made) leaves its figures to this process,
    which draws them again, so that an error shows here with its traceback.
    """
    workers = _workers(len(builders))
    shares = [builders[i::workers] for i in range(workers)]
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        stream.flush()
    children: list[tuple[int, Sequence[tuple[str, Callable[[], Any]]]]] = []
    left: list[Sequence[tuple[str, Callable[[], Any]]]] = []
    try:
        for share in shares[1:]:
            try:
                pid = os.fork()
            except OSError:  # no memory or process left for a copy: draw it here
                left.append(share)
                continue
            if pid == 0:  # pragma: no cover - the copy leaves with os._exit, which no tracer sees
                status = 1
                try:
                    _save(share, out)
                    status = 0
                finally:
                    os._exit(status)
            children.append((pid, share))
        _save(shares[0], out)
    finally:
        failed = [
            share for pid, share in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        ]
    for share in (*left, *failed):
        _save(share, out)


def plot(results: StudyResults, out_dir: str | Path) -> list[Path]:
    """Draw the study's PNGs into ``out_dir`` (see the module docs for the list).

    Each value plot has one panel per metric. Only measured trials are drawn
    (learning curves show every trial with measurements); nothing is drawn
    when no trial is measured. ``importances.png`` is left out when
    :func:`vertex_hydra.results.importance.importance_note` says why, and
    ``pareto.png`` unless the study has several metrics. matplotlib is
    imported here, not on import, and pyplot is never used.

    On Linux, in a process with no other thread (a command, not a notebook),
    the figures are shared among forked copies of this process, one per
    available core (at most 4), which start drawing at once with all that
    this one has loaded.

    Returns:
        The paths written.

    Example:
        >>> [p.name for p in plot(results, "runs/study")]  # doctest: +SKIP
        ['history.png', 'learning_curves.png', 'importances.png', 'parallel_coordinates.png',
         'param_model.lr.png', 'param_model.depth.png']
    """
    builders = _builders(results, None)
    if not builders:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _save_in_parallel(builders, out)
    return [out / name for name, _ in builders]


def sample_results(
    metrics: Sequence[MetricSpec], parameters: Sequence[ParameterSpec]
) -> StudyResults:
    """A made-up study with these metrics and parameters: every plot draws something from it.

    Four trials (SUCCEEDED, STOPPED, SUCCEEDED, FAILED) over each parameter's
    probe values (:meth:`~vertex_hydra.jobspec.ParameterSpec.probe_values`),
    with three measurements each. :func:`warm_up` draws it; it is never
    written anywhere.

    Example:
        >>> from vertex_hydra.jobspec import MetricSpec
        >>> [t.state for t in sample_results((MetricSpec("acc", "MAXIMIZE"),), ()).trials]
        ['SUCCEEDED', 'STOPPED', 'SUCCEEDED', 'FAILED']
    """
    from vertex_hydra.results.model import Measurement

    metrics = tuple(metrics) or (MetricSpec("value", "MAXIMIZE"),)
    trials = []
    for i, state in enumerate(("SUCCEEDED", "STOPPED", "SUCCEEDED", "FAILED")):
        values = {m.metric_id: 0.25 * (i + 1) + 0.1 * j for j, m in enumerate(metrics)}
        steps = [
            Measurement(s, 1.5 * s, {k: v * s / 3 for k, v in values.items()}) for s in (1, 2, 3)
        ]
        chosen = {}
        for p in parameters:
            probes = p.probe_values()
            if probes:
                chosen[p.parameter_id] = probes[i % len(probes)]
        measured = state in ("SUCCEEDED", "STOPPED")
        trials.append(
            TrialResult(str(i + 1), state, chosen, values if measured else {}, 4.5, steps, None)
        )
    return StudyResults(metrics=metrics, parameters=tuple(parameters), trials=trials)


def warm_up(
    metrics: Sequence[MetricSpec] = (),
    parameters: Sequence[ParameterSpec] = (),
    stop: threading.Event | None = None,
) -> None:
    """Draw every plot of a study with these metrics and parameters once, into memory.

    The first figure of each kind drawn in a process loads fonts and fills
    caches; after this, :func:`plot` starts at full speed. Nothing is written.

    Args:
        metrics: The study's metrics (default: one made-up metric).
        parameters: The study's parameters.
        stop: When set, no further figure is started (a short study has ended:
            its own plots are next).

    Example:
        >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
        >>> warm_up((MetricSpec("acc", "MAXIMIZE"),), (ParameterSpec("lr", "DOUBLE", 0.1, 1),))
    """
    import io

    sample = sample_results(metrics, parameters)
    ids = [p.parameter_id for p in parameters]
    shares = {m.metric_id: {pid: 1.0 / len(ids) for pid in ids} for m in sample.metrics}
    for _, build in _builders(sample, shares if len(ids) > 1 else {}):
        if stop is not None and stop.is_set():
            return
        build().savefig(io.BytesIO(), format="png", dpi=100)
