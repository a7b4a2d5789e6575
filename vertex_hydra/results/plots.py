"""The PNG plots of a study: ``history.png`` and one ``param_<parameterId>.png`` per parameter.

matplotlib is imported only when a figure is drawn.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas,
never with pyplot, so plotting does not change the backend of a notebook or
leave open figures behind.

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
from vertex_hydra.results.model import StudyResults, TrialResult

__all__ = ["plot", "history_figure", "parameter_figure"]

_COLORS = {"SUCCEEDED": "tab:blue", "STOPPED": "tab:orange"}


def _figure(panels: int) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.2 * panels), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _scatter(ax: Any, xs: Sequence[Any], ys: Sequence[float], states: Sequence[str]) -> None:
    for state, color in _COLORS.items():
        points = [(x, y) for x, y, s in zip(xs, ys, states) if s == state]
        if points:
            ax.scatter(*zip(*points), color=color, label=state.lower(), zorder=3)


def history_figure(metrics: Sequence[MetricSpec], trials: Sequence[TrialResult]) -> Any:
    """Each metric's final value per trial, in trial order, with the best value so far.

    Example:
        >>> history_figure((MetricSpec("loss", "MINIMIZE"),), []).axes[0].get_xlabel()
        'trial'
    """
    fig = _figure(len(metrics))
    for ax, metric in zip(fig.subplots(len(metrics), 1, squeeze=False)[:, 0], metrics):
        ys = [t.values[metric.metric_id] for t in trials if metric.metric_id in t.values]
        labels = [t.trial_id for t in trials if metric.metric_id in t.values]
        # Vertex ids are "1", "2", ...: place trials by id so gaps show failed trials.
        numeric = all(label.isdigit() for label in labels)
        xs = [int(label) for label in labels] if numeric else list(range(1, len(ys) + 1))
        _scatter(ax, xs, ys, [t.state for t in trials if metric.metric_id in t.values])
        pick = max if metric.goal == "MAXIMIZE" else min
        best = [pick(ys[: i + 1]) for i in range(len(ys))]
        ax.step(xs, best, where="post", color="tab:green", label="best so far")
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


def _key(parameter: ParameterSpec, value: float | str) -> float | str:
    # DISCRETE values come back as floats (64.0) while the job file says 64.
    return float(value) if parameter.kind == "DISCRETE" else str(value)


def parameter_figure(
    parameter: ParameterSpec, metrics: Sequence[MetricSpec], trials: Sequence[TrialResult]
) -> Any:
    """Each metric's final value against one parameter (log axis on a log scale).

    Categorical and discrete values are spaced evenly, in job-file order.

    Example:
        >>> parameter_figure(ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu")),
        ...                  (MetricSpec("loss", "MINIMIZE"),), []).axes[0].get_xlabel()
        'act'
    """
    from matplotlib.ticker import MaxNLocator

    fig = _figure(len(metrics))
    pid = parameter.parameter_id
    for ax, metric in zip(fig.subplots(len(metrics), 1, squeeze=False)[:, 0], metrics):
        shown = [t for t in trials if pid in t.parameters and metric.metric_id in t.values]
        ys = [t.values[metric.metric_id] for t in shown]
        if parameter.kind in ("DISCRETE", "CATEGORICAL"):
            order = [_key(parameter, v) for v in parameter.values]
            xs: list[Any] = [order.index(_key(parameter, t.parameters[pid])) for t in shown]
            ax.set_xticks(
                range(len(order)), [f"{v:g}" if isinstance(v, float) else v for v in order]
            )
        else:
            xs = [float(t.parameters[pid]) for t in shown]
            if parameter.scale_type == "UNIT_LOG_SCALE":
                ax.set_xscale("log")
            if parameter.kind == "INTEGER":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no tick at 1.25 layers
        _scatter(ax, xs, ys, [t.state for t in shown])
        ax.set(xlabel=pid, ylabel=metric.metric_id, title=f"{metric.metric_id} against {pid}")
        ax.grid(alpha=0.3)
        if len({t.state for t in shown}) > 1:  # say what the orange points are
            ax.legend(loc="best", fontsize="small")
    return fig


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
