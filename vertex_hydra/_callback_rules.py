"""How ``HypertuneCallback`` decides what to report: the metric, its mode, and whether it is fresh.

Kept apart from the callback so that each rule reads in one place:

- :func:`resolve_monitor`: explicit ``monitor`` > the study's metric > the first
  ``ModelCheckpoint``/``EarlyStopping`` that monitors something (only when the
  study's metric is unknown); ``mode``: explicit > the study's goal > the
  watcher of the same metric. The warnings it returns name every disagreement.
- :func:`logged_names`: which metrics a Lightning loop logged since its last
  reset, so that a stale value in ``trainer.callback_metrics`` is never
  reported again.

Example:
    >>> resolved = resolve_monitor(None, None, ("val/acc", "max"), [])
    >>> (resolved.monitor, resolved.mode, resolved.warnings)
    ('val/acc', 'max', [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vertex_hydra.errors import ConfigurationError

__all__ = ["Resolved", "logged_names", "resolve_monitor", "watchers_of"]


@dataclass
class Resolved:
    """The metric and mode the callback reports, and the warnings to give once.

    Example:
        >>> Resolved("val/acc", "max").warnings
        []
    """

    monitor: str
    mode: str | None
    warnings: list[str] = field(default_factory=list)


def _describe(watcher: Any) -> str:
    return f"{type(watcher).__name__}(monitor={watcher.monitor!r}, mode={watcher.mode!r})"


def _is_early_stopping(watcher: Any) -> bool:
    return any(cls.__name__ == "EarlyStopping" for cls in type(watcher).__mro__)


def watchers_of(trainer: Any) -> list[Any]:
    """The trainer's ``ModelCheckpoint``s that monitor something, then its ``EarlyStopping``s.

    Example:
        >>> watchers_of(object())
        []
    """
    found = [
        cb for cb in getattr(trainer, "checkpoint_callbacks", []) if getattr(cb, "monitor", None)
    ]
    early = getattr(trainer, "early_stopping_callbacks", [])
    return found + [cb for cb in early if getattr(cb, "monitor", None)]


def resolve_monitor(
    monitor: str | None,
    mode: str | None,
    study: tuple[str, str | None] | None,
    watchers: list[Any],
    *,
    tagged: bool = False,
) -> Resolved:
    """Decide the reported metric and its mode.

    Args:
        monitor: The callback's ``monitor`` argument.
        mode: The callback's ``mode`` argument.
        study: ``(metricId, "min"/"max"/None)`` of the study's metric, or ``None`` when unknown.
        watchers: See :func:`watchers_of`.
        tagged: The callback was given an explicit ``tag``, which maps ``monitor``
            to the study's metric by itself (``report_metric`` warns if it differs).

    Returns:
        The metric, the mode (``None`` when nothing tells it) and the warnings to give.

    Raises:
        ConfigurationError: Nothing names a metric (no ``monitor``, no study, no watcher).

    Example:
        >>> r = resolve_monitor("val/loss", None, ("val/acc", "max"), [])
        >>> r.monitor, r.mode, r.warnings[0][:45]
        ('val/loss', 'max', "HypertuneCallback(monitor='val/loss') differs")
    """
    study_id, goal = study if study is not None else (None, None)
    notes: list[str] = []
    if monitor is not None:
        chosen = monitor
        if study_id is not None and monitor != study_id and not tagged:
            notes.append(
                f"HypertuneCallback(monitor={monitor!r}) differs from the study's metric "
                f"{study_id!r}: the values of {monitor!r} are written under the tag of the study's "
                f"metric and optimised as if they were {study_id!r}. Fix: drop monitor to "
                f"report {study_id!r}, or make sure the two are the same quantity."
            )
    elif study_id is not None:
        chosen = study_id
    elif watchers:
        chosen = str(watchers[0].monitor)
    else:
        raise ConfigurationError(
            "HypertuneCallback(monitor=None): cannot infer which metric to report: "
            "the study's metric is unknown (no VERTEX_HYDRA_STUDY, no CLOUD_ML_HP_METRIC_TAG) and "
            "the Trainer has no ModelCheckpoint with a monitor and no EarlyStopping. "
            "Fix: pass monitor='val/acc' and mode='max' (your metric), or add "
            "ModelCheckpoint(monitor=..., mode=...) to the callbacks."
        )
    same = [w for w in watchers if w.monitor == chosen]
    if mode is not None:
        chosen_mode: str | None = mode
        if goal is not None and mode != goal:
            notes.append(
                f"HypertuneCallback(mode={mode!r}) is the opposite of the study's goal for "
                f"{study_id!r} ({goal!r}): the final line holds the worst value by the study's "
                f"measure. Fix: drop mode (the study's goal is used)."
            )
    elif goal is not None:
        chosen_mode = goal
    elif same:
        chosen_mode = str(same[0].mode)
        if _is_early_stopping(same[0]) and chosen_mode == "min":
            notes.append(
                f"HypertuneCallback(monitor={chosen!r}, mode=None): mode 'min' is taken from "
                f"{_describe(same[0])}, and 'min' is also EarlyStopping's default, which may "
                f"not have been chosen for {chosen!r}. Fix: pass mode='min' to confirm, or "
                "mode='max' (and the same to EarlyStopping) if higher is better."
            )
    else:
        chosen_mode = None
    if chosen_mode is not None:
        origin = (
            "the study's goal" if mode is None and goal is not None else f"mode={chosen_mode!r}"
        )
        for watcher in same:
            if watcher.mode != chosen_mode:
                notes.append(
                    f"{_describe(watcher)} ranks {chosen!r} the opposite way to "
                    f"HypertuneCallback ({origin}: {chosen_mode!r}). Fix: give it "
                    f"mode={chosen_mode!r}."
                )
    return Resolved(chosen, chosen_mode, notes)


def logged_names(results: Any) -> set[str] | None:
    """The metric names a Lightning ``_ResultCollection`` holds since its last reset.

    Lightning resets a loop's results after ``on_validation_end`` and after each
    training epoch, and keeps the previous values in ``trainer.callback_metrics``;
    only the names returned here were logged by the loop that just ran. Returns
    ``None`` when ``results`` is not such a collection (another Lightning).

    Example:
        >>> logged_names(None) is None
        True
    """
    values = getattr(results, "values", None)
    forked = getattr(results, "_forked_name", None)
    if values is None or forked is None:
        return None
    names: set[str] = set()
    try:
        for item in values():
            if getattr(item, "has_reset", True):
                continue
            for on_step in (False, True):
                names.update(forked(item, on_step))
    except (AttributeError, TypeError):
        return None
    return names
