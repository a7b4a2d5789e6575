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

from collections.abc import Sequence
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

__all__ = [
    "plot",
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


def plot(results: StudyResults, out_dir: str | Path) -> list[Path]:
    """Draw the study's PNGs into ``out_dir`` (see the module docs for the list).

    Each value plot has one panel per metric. Only measured trials are drawn
    (learning curves show every trial with measurements); nothing is drawn
    when no trial is measured. ``importances.png`` is left out when
    :func:`vertex_hydra.results.importance.importance_note` says why, and
    ``pareto.png`` unless the study has several metrics. matplotlib is
    imported here, not on import, and pyplot is never used.

    Returns:
        The paths written.

    Example:
        >>> [p.name for p in plot(results, "runs/study")]  # doctest: +SKIP
        ['history.png', 'learning_curves.png', 'importances.png', 'parallel_coordinates.png',
         'param_model.lr.png', 'param_model.depth.png']
    """
    from vertex_hydra.results.importance import param_importances
    from vertex_hydra.results.views import learning_curves, parallel_columns

    measured = results.measured()
    if not measured:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    best = results.best()
    figures: list[tuple[str, Any]] = [
        ("history.png", history_figure(results.metrics, measured, best))
    ]
    curves = learning_curves(results)
    if curves:
        figures.append(
            ("learning_curves.png", learning_curve_figure(results.metrics[0], curves, best))
        )
    importances = param_importances(results)
    if importances:
        figures.append(("importances.png", importance_figure(importances)))
    if results.parameters:
        columns = parallel_columns(results.parameters, results.metrics[0], measured)
        figures.append(
            ("parallel_coordinates.png", parallel_figure(columns, measured, results, best))
        )
    if len(results.metrics) > 1:
        figures.append(("pareto.png", pareto_figure(results)))
    for p in results.parameters:
        fig = parameter_figure(p, results.metrics, measured, best)
        figures.append((f"param_{safe_name(p.parameter_id)}.png", fig))
    paths = []
    for name, fig in figures:
        fig.savefig(out / name, dpi=100)
        paths.append(out / name)
    return paths
