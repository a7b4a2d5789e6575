"""What every PNG plot shares: the figure, the colours of trial states, the best trial's star.

Example:
    >>> ax = figure(1).subplots()
    >>> mark_best(ax, 1, 0.5, "3")
    >>> ax.collections[0].get_label()
    'best (trial 3)'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["STATE_COLORS", "BEST_STYLE", "figure", "mark_best", "scatter_states"]

#: The colour of each measured state, in every plot.
STATE_COLORS = {"SUCCEEDED": "tab:blue", "STOPPED": "tab:orange"}
#: How the best trial's point is drawn in every plot.
BEST_STYLE: dict[str, Any] = {
    "marker": "*",
    "s": 260,
    "color": "gold",
    "edgecolors": "black",
    "zorder": 5,
}


def figure(panels: int, width: float = 6.4, height: float = 3.2) -> Any:
    """A constrained-layout :class:`matplotlib.figure.Figure` on the Agg canvas (no pyplot).

    Example:
        >>> figure(2).get_size_inches().tolist()
        [6.4, 6.4]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height * panels), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def mark_best(ax: Any, x: Any, y: float, trial_id: str) -> None:
    """Draw the best trial's star at ``(x, y)``, labelled ``best (trial <id>)`` for the legend.

    Example:
        >>> ax = figure(1).subplots()
        >>> mark_best(ax, 0.1, 0.9, "4")
        >>> ax.collections[0].get_offsets().tolist()
        [[0.1, 0.9]]
    """
    ax.scatter([x], [y], label=f"best (trial {trial_id})", **BEST_STYLE)


def scatter_states(ax: Any, xs: Sequence[Any], ys: Sequence[float], states: Sequence[str]) -> None:
    """One scatter per measured state, coloured by :data:`STATE_COLORS`.

    Example:
        >>> ax = figure(1).subplots()
        >>> scatter_states(ax, [1, 2], [0.5, 0.4], ["SUCCEEDED", "STOPPED"])
        >>> [c.get_label() for c in ax.collections]
        ['succeeded', 'stopped']
    """
    for state, color in STATE_COLORS.items():
        points = [(x, y) for x, y, s in zip(xs, ys, states) if s == state]
        if points:
            ax.scatter(*zip(*points), color=color, label=state.lower(), zorder=3)
