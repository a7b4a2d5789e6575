"""The PNG plots of the study as a whole: learning curves, importances, parallel coordinates, Pareto front.

:func:`vertex_hydra.results.plot` writes them; the numbers come from
:mod:`vertex_hydra.results.views` and :mod:`vertex_hydra.results.importance`.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec
    >>> from vertex_hydra.results.views import Curve
    >>> fig = learning_curve_figure(MetricSpec("acc", "MAXIMIZE"),
    ...                             [Curve("1", "STOPPED", (1, 2), (0.5, 0.6))])
    >>> fig.axes[0].get_xlabel()
    'step'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from vertex_hydra.jobspec import MetricSpec
from vertex_hydra.results._mpl import STATE_COLORS, figure, mark_best, scatter_states
from vertex_hydra.results.model import StudyResults, TrialResult
from vertex_hydra.results.views import Curve, ParallelColumn

__all__ = ["learning_curve_figure", "importance_figure", "parallel_figure", "pareto_figure"]

#: The mark at the last measurement of a STOPPED trial: where the rule cut it.
STOP_STYLE: dict[str, Any] = {"marker": "X", "s": 70, "color": "tab:red", "zorder": 4}


def learning_curve_figure(
    metric: MetricSpec, curves: Sequence[Curve], best: TrialResult | None = None
) -> Any:
    """One line per trial: ``metric`` at each step, coloured by the trial's state.

    A STOPPED trial's last point gets a red ``x`` (where the rule cut it); the
    ``best`` trial's line is thick, with a star at its end.

    Example:
        >>> fig = learning_curve_figure(MetricSpec("acc", "MAXIMIZE"),
        ...     [Curve("1", "STOPPED", (1, 2), (0.5, 0.6))])
        >>> fig.axes[0].collections[0].get_offsets().tolist()  # the stop mark
        [[2.0, 0.6]]
    """
    fig = figure(1, height=3.8)
    ax = fig.subplots()
    labelled: set[str] = set()
    for curve in curves:
        label = None if curve.state in labelled else curve.state.lower()
        labelled.add(curve.state)
        ax.plot(curve.steps, curve.values, color=STATE_COLORS.get(curve.state, "0.6"),
                alpha=0.75, linewidth=1.2, marker="o", markersize=2.5, label=label)  # fmt: skip
    stopped = [c for c in curves if c.state == "STOPPED"]
    if stopped:
        ax.scatter([c.steps[-1] for c in stopped], [c.values[-1] for c in stopped],
                   label="stopped here", **STOP_STYLE)  # fmt: skip
    best_curve = next((c for c in curves if best is not None and c.trial_id == best.trial_id), None)
    if best_curve is not None:
        ax.plot(best_curve.steps, best_curve.values, color="black", linewidth=2.6, zorder=4)
        mark_best(ax, best_curve.steps[-1], best_curve.values[-1], best_curve.trial_id)
    ax.set(xlabel="step", ylabel=metric.metric_id,
           title=f"Learning curves ({metric.goal.lower()} {metric.metric_id})")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def importance_figure(importances: Mapping[str, Mapping[str, float]]) -> Any:
    """Horizontal bars per metric, the most important parameter on top.

    Example:
        >>> fig = importance_figure({"acc": {"lr": 0.8, "depth": 0.2}})
        >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
        ['depth', 'lr']
    """
    rows = max((len(v) for v in importances.values()), default=1)
    fig = figure(len(importances), height=1.2 + 0.4 * rows)
    panels = fig.subplots(len(importances), 1, squeeze=False)[:, 0]
    for ax, (metric_id, ranked) in zip(panels, importances.items()):
        names = list(ranked)[::-1]  # barh draws bottom-up
        values = [ranked[n] for n in names]
        bars = ax.barh(names, values, color="tab:blue")
        ax.bar_label(bars, [f"{v:.2f}" for v in values], padding=3, fontsize="small")
        ax.set_xlim(0, max(1.0, max(values, default=0) * 1.15))
        ax.set(xlabel="importance (Optuna, PED-ANOVA)",
               title=f"Parameter importances for {metric_id}")  # fmt: skip
        ax.grid(axis="x", alpha=0.3)
    return fig


def parallel_figure(
    columns: Sequence[ParallelColumn],
    trials: Sequence[TrialResult],
    results: StudyResults,
    best: TrialResult | None = None,
) -> Any:
    """One line per trial across every column, coloured by the first metric.

    The ``best`` trial's line is thick and black, with stars at each column.

    Example:
        >>> from vertex_hydra.results.views import parallel_columns
        >>> from vertex_hydra.jobspec import ParameterSpec
        >>> p, m = ParameterSpec("n", "INTEGER", 1, 3), MetricSpec("acc", "MAXIMIZE")
        >>> trials = [TrialResult("1", "SUCCEEDED", {"n": 1}, {"acc": 0.5})]
        >>> r = StudyResults((m,), (p,), trials)
        >>> fig = parallel_figure(parallel_columns((p,), m, trials), trials, r, trials[0])
        >>> fig.axes[0].lines[-1].get_ydata().tolist()  # the best trial's line
        [0.0, 0.5]
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    metric = results.metrics[0]
    fig = figure(1, width=max(6.4, 1.7 * len(columns) + 1.5), height=4.2)
    ax = fig.subplots()
    xs = list(range(len(columns)))
    values = [t.values.get(metric.metric_id, math.nan) for t in trials]
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    norm = Normalize(min(finite), max(finite) if max(finite) > min(finite) else min(finite) + 1)
    cmap = "viridis" if metric.goal == "MAXIMIZE" else "viridis_r"  # yellow is good
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    for i, (trial, value) in enumerate(zip(trials, values)):
        if trial is not best:
            ax.plot(xs, [c.heights[i] for c in columns], color=mappable.to_rgba(value),  # type: ignore[arg-type]
                    alpha=0.8, linewidth=1.3)  # fmt: skip
    for x, column in zip(xs, columns):
        ax.axvline(x, color="0.35", linewidth=0.9, zorder=1)
        for height, label in column.ticks:
            ax.text(x + 0.04, height, label, fontsize=7.5, va="center", ha="left",
                    bbox={"facecolor": "white", "alpha": 0.7, "pad": 0.5, "linewidth": 0})  # fmt: skip
    if best is not None and best in trials:
        i = list(trials).index(best)
        ax.plot(xs, [c.heights[i] for c in columns], color="black", linewidth=2.6, marker="*",
                markersize=13, markerfacecolor="gold", markeredgecolor="black", zorder=5,
                label=f"best (trial {best.trial_id})")  # fmt: skip
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize="small", frameon=False)
    ax.set_xticks(xs, [c.label for c in columns])
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.set_xlim(-0.15, len(columns) - 0.5)
    ax.set_ylim(-0.04, 1.04)
    for side in ("left", "right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Parallel coordinates (colour: {metric.metric_id}, {metric.goal.lower()})")
    fig.colorbar(mappable, ax=ax, label=metric.metric_id, pad=0.01)
    return fig


def pareto_figure(results: StudyResults) -> Any:
    """The first two metrics against each other, with the Pareto front joined up.

    Example:
        >>> m = (MetricSpec("acc", "MAXIMIZE"), MetricSpec("ms", "MINIMIZE"))
        >>> r = StudyResults(m, (), [TrialResult("1", "SUCCEEDED", {}, {"acc": .9, "ms": 9}),
        ...                          TrialResult("2", "SUCCEEDED", {}, {"acc": .8, "ms": 1})])
        >>> pareto_figure(r).axes[0].get_xlabel()
        'acc (maximize)'
    """
    first, second = results.metrics[0], results.metrics[1]
    measured = results.measured()
    fig = figure(1, height=4.2)
    ax = fig.subplots()
    xs = [t.values[first.metric_id] for t in measured]
    ys = [t.values[second.metric_id] for t in measured]
    scatter_states(ax, xs, ys, [t.state for t in measured])
    front = sorted(
        ((t.values[first.metric_id], t.values[second.metric_id]) for t in results.pareto_front())
    )
    if front:
        ax.plot(*zip(*front), color="tab:red", linewidth=1.5, marker="o", markersize=9,
                markerfacecolor="none", label="Pareto front", zorder=4)  # fmt: skip
    best = results.best()
    if best is not None:
        mark_best(ax, best.values[first.metric_id], best.values[second.metric_id], best.trial_id)
    more = f" (first 2 of {len(results.metrics)} metrics)" if len(results.metrics) > 2 else ""
    ax.set(xlabel=f"{first.metric_id} ({first.goal.lower()})",
           ylabel=f"{second.metric_id} ({second.goal.lower()})",
           title=f"Pareto front{more}")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig
