"""``report.html``: the trials table and interactive plots of a study, in one offline file.

plotly's JavaScript is inlined once in the page, and nothing is fetched from a
CDN or any network, so the file opens anywhere, with no server. The plots are
the PNGs' (:mod:`vertex_hydra.results.plots`), drawn from the same numbers
(:mod:`vertex_hydra.results.views`), with plain SVG traces (no WebGL). plotly is
imported when the report is written.

Example:
    >>> write_report(results, "runs/study/report.html")  # doctest: +SKIP
    PosixPath('runs/study/report.html')
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from vertex_hydra.results.importance import importance_note, param_importances
from vertex_hydra.results.model import StudyResults
from vertex_hydra.results.table import format_cell
from vertex_hydra.results.views import learning_curves, parallel_columns, parameter_axis

__all__ = ["write_report", "report_figures"]

_COLORS = {"SUCCEEDED": "#1f77b4", "STOPPED": "#ff7f0e"}
_BEST = {"symbol": "star", "size": 18, "color": "gold", "line": {"color": "black", "width": 1}}
_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3}tr.best{background:#fff6cc}.note{color:#666;font-style:italic}"""


def _figure(**layout: Any) -> dict[str, Any]:
    """An empty figure as plotly JSON: ``{"data": [...], "layout": {...}}``."""
    return {"data": [], "layout": layout}


def _axis(title: str, **rest: Any) -> dict[str, Any]:
    return {"title": {"text": title}, **rest}


def _template() -> dict[str, Any]:
    """plotly's ``plotly_white`` template as JSON, read once per report."""
    import plotly.io as pio  # type: ignore[import-untyped]

    template: dict[str, Any] = pio.templates["plotly_white"].to_plotly_json()
    return template


def report_figures(results: StudyResults) -> list[tuple[str, dict[str, Any]]]:
    """``(title, figure)`` for each plot of the report, in page order.

    Each figure is plotly JSON (``{"data": [...], "layout": {...}}``), built as
    plain dicts: ``plotly.graph_objects.Figure(figure)`` turns one into a
    Figure. Plain dicts skip plotly's validation and template copying, which
    cost more than the rest of the report.

    Example:
        >>> [title for title, _ in report_figures(results)]  # doctest: +SKIP
        ['Optimisation history', 'Learning curves', 'Parameter importances', ...]
    """
    measured, best = results.measured(), results.best()
    first = results.metrics[0]
    figures: list[tuple[str, dict[str, Any]]] = []

    def trace(trials: Any, xs: Any, ys: Any, name: str, **kw: Any) -> dict[str, Any]:
        text = [f"trial {t.trial_id}" for t in trials]
        return {"type": "scatter", "x": list(xs), "y": list(ys), "name": name, "text": text,
                "mode": "markers", **kw}  # fmt: skip

    def states(fig: dict[str, Any], trials: Any, x: Any, y: Any) -> None:
        for state, color in _COLORS.items():
            shown = [t for t in trials if t.state == state]
            if shown:
                fig["data"].append(trace(shown, [x(t) for t in shown], [y(t) for t in shown],
                                         state.lower(), marker={"color": color, "size": 9}))  # fmt: skip
        if best is not None and best in trials:
            fig["data"].append(trace([best], [x(best)], [y(best)], f"best (trial {best.trial_id})",
                                     marker=_BEST))  # fmt: skip

    fig = _figure(xaxis=_axis("trial"), yaxis=_axis(first.metric_id))
    states(fig, measured, _trial_x, lambda t: t.values[first.metric_id])
    figures.append(("Optimisation history", fig))

    curves = learning_curves(results)
    if curves:
        fig = _figure(xaxis=_axis("step"), yaxis=_axis(first.metric_id))
        for c in curves:
            wide = best is not None and c.trial_id == best.trial_id
            fig["data"].append({"type": "scatter", "x": list(c.steps), "y": list(c.values),
                "mode": "lines+markers",
                "name": f"trial {c.trial_id} ({c.state.lower()})" + (" best" if wide else ""),
                "line": {"color": "black" if wide else _COLORS.get(c.state, "#999"),
                         "width": 3 if wide else 1.5}})  # fmt: skip
        stopped = [c for c in curves if c.state == "STOPPED"]
        if stopped:
            fig["data"].append({"type": "scatter", "x": [c.steps[-1] for c in stopped],
                "y": [c.values[-1] for c in stopped], "mode": "markers", "name": "stopped here",
                "text": [f"trial {c.trial_id}" for c in stopped],
                "marker": {"symbol": "x", "size": 12, "color": "#d62728"}})  # fmt: skip
        figures.append(("Learning curves", fig))

    for metric_id, ranked in param_importances(results).items():
        names = list(ranked)[::-1]
        fig = _figure(xaxis=_axis("importance (Optuna, PED-ANOVA)", range=[0, 1]))
        fig["data"].append({"type": "bar", "x": [ranked[n] for n in names], "y": names,
                            "orientation": "h"})  # fmt: skip
        figures.append((f"Parameter importances for {metric_id}", fig))

    if results.parameters:
        columns = parallel_columns(results.parameters, first, measured)
        fig = _figure(yaxis={"showticklabels": False, "range": [-0.05, 1.05]}, annotations=[])
        values = [t.values[first.metric_id] for t in measured]
        low, high = min(values), max(values)
        for i, t in enumerate(measured):
            wide = t is best
            share = 0.5 if high == low else (values[i] - low) / (high - low)
            if first.goal == "MINIMIZE":
                share = 1 - share
            fig["data"].append({"type": "scatter", "x": [col.label for col in columns],
                "y": [col.heights[i] for col in columns], "mode": "lines+markers",
                "name": f"trial {t.trial_id}" + (" best" if wide else ""),
                "hovertext": f"trial {t.trial_id}: {first.metric_id}={values[i]:.6g}",
                "line": {"color": "black" if wide else f"hsl({int(240 - 200 * share)},70%,45%)",
                         "width": 4 if wide else 1.5},
                "marker": _BEST if wide else {"size": 4}})  # fmt: skip
        for x, column in enumerate(columns):
            for height, label in column.ticks:
                fig["layout"]["annotations"].append({"x": x, "y": height, "text": label,
                    "showarrow": False, "xanchor": "left", "xshift": 4, "font": {"size": 10}})  # fmt: skip
        figures.append(("Parallel coordinates (colour: the first metric, red is best)", fig))

    if len(results.metrics) > 1:
        second = results.metrics[1]
        fig = _figure(xaxis=_axis(first.metric_id), yaxis=_axis(second.metric_id))
        states(fig, measured, lambda t: t.values[first.metric_id],
               lambda t: t.values[second.metric_id])  # fmt: skip
        front = sorted(results.pareto_front(), key=lambda t: t.values[first.metric_id])
        fig["data"].append(trace(front, [t.values[first.metric_id] for t in front],
                                 [t.values[second.metric_id] for t in front], "Pareto front",
                                 line={"color": "#d62728"}))  # fmt: skip
        fig["data"][-1]["mode"] = "lines+markers"
        figures.append(("Pareto front", fig))

    for p in results.parameters:
        axis = parameter_axis(p)
        shown = [t for t in measured if p.parameter_id in t.parameters]
        xaxis = _axis(p.parameter_id, type="log" if axis.log else "linear")
        if axis.categorical:
            xaxis.update(tickvals=[v for v, _ in axis.ticks], ticktext=[t for _, t in axis.ticks])
        fig = _figure(xaxis=xaxis, yaxis=_axis(first.metric_id))
        states(fig, shown, lambda t: axis.position(t.parameters[p.parameter_id]),
               lambda t: t.values[first.metric_id])  # fmt: skip
        figures.append((f"{first.metric_id} against {p.parameter_id}", fig))
    if figures:
        template = _template()
        for _, fig in figures:
            fig["layout"].update(height=420, margin={"t": 30, "b": 50}, template=template)
    return figures


def _trial_x(trial: Any) -> int | str:
    # Vertex ids are "1", "2", ...: numbers keep the axis in trial order.
    return int(trial.trial_id) if trial.trial_id.isdigit() else str(trial.trial_id)


def _table(results: StudyResults) -> str:
    ids = [p.parameter_id for p in results.parameters]
    heads = ["trial", "state", *ids, *(f"{m.metric_id} ({m.goal})" for m in results.metrics),
             "seconds", "error"]  # fmt: skip
    best = results.best()
    rows = []
    for t in results.trials:
        cells = [t.trial_id + (" *" if t is best else ""), t.state]
        cells += [format_cell(t.parameters.get(pid)) for pid in ids]
        cells += [format_cell(t.values.get(m.metric_id)) for m in results.metrics]
        cells += ["" if t.seconds is None else f"{t.seconds:.1f}", t.error or ""]
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        mark = " class='best'" if t is best else ""
        rows.append(f"<tr{mark}>{tds}</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    return f"<table id='trials'><tr>{head}</tr>{''.join(rows)}</table>"


def write_report(results: StudyResults, path: str | Path) -> Path:
    """Write ``report.html`` at ``path``: summary, trials table and interactive plots.

    With no measured trial the page holds the table only. The file needs no
    network: plotly's JavaScript is inlined in it.

    Example:
        >>> import tempfile, pathlib
        >>> from vertex_hydra.jobspec import MetricSpec
        >>> out = write_report(StudyResults((MetricSpec("acc", "MAXIMIZE"),), (), []),
        ...                    pathlib.Path(tempfile.mkdtemp()) / "report.html")
        >>> "<table id='trials'>" in out.read_text()
        True
    """
    from plotly.io import to_html  # type: ignore[import-untyped]
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    best = results.best()
    parts = [f"<h1>Study: {len(results.trials)} trials</h1>"]
    if best is None:
        parts.append("<p>No trial has a final measurement: there is no best trial.</p>")
    else:
        shown = ", ".join(f"{k}={format_cell(v)}" for k, v in best.values.items())
        parts.append(f"<p>Best trial {html.escape(best.trial_id)}: {html.escape(shown)}<br>"
                     f"Best overrides: <code>{html.escape(results.best_overrides())}</code></p>")  # fmt: skip
    parts.append(_table(results))
    if results.measured():
        note = importance_note(results)
        for title, fig in report_figures(results):
            div = to_html(fig, full_html=False, include_plotlyjs=False, validate=False)
            parts.append(f"<h2>{html.escape(title)}</h2>{div}")
        if note is not None:
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>vertex-hydra study</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
