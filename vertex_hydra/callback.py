"""``HypertuneCallback``: report the study's metric from a Lightning run to Vertex AI.

The one class works with a ``Trainer`` from ``lightning.pytorch`` *and* from
``pytorch_lightning``: its base derives from the ``Callback`` of every
installed namespace (see :mod:`vertex_hydra._compat`).

Example:
    .. code-block:: yaml

        # configs/callbacks/default.yaml (lightning-hydra-template shape)
        model_checkpoint:
          _target_: lightning.pytorch.callbacks.ModelCheckpoint
          monitor: val/acc
          mode: max
        hypertune:
          _target_: vertex_hydra.HypertuneCallback
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vertex_hydra._callback_rules import logged_names, resolve_monitor, watchers_of
from vertex_hydra._compat import callback_base
from vertex_hydra.errors import ConfigurationError
from vertex_hydra.report import ReportWarning, last_step, report_metric, study_metric
from vertex_hydra.study_env import read_study

__all__ = ["HypertuneCallback"]

if TYPE_CHECKING:
    # What the runtime base is, spelled statically, so that type checkers accept
    # the callback in either namespace's ``Trainer(callbacks=[...])``.
    import lightning.pytorch
    import pytorch_lightning

    class _CallbackBase(lightning.pytorch.Callback, pytorch_lightning.Callback):  # type: ignore[misc]
        pass

else:
    _CallbackBase = callback_base()

_MODES = ("min", "max")
_FINALS = ("best", "last")


def _check_choice(name: str, value: object, choices: tuple[str | None, ...]) -> None:
    if value not in choices:
        shown = ", ".join(repr(choice) for choice in choices)
        raise ConfigurationError(
            f"HypertuneCallback({name}={value!r}): expected one of {shown}. "
            f"Fix: pass {name}={choices[0]!r}."
        )


@dataclass(frozen=True)
class _Target:
    """One study metric the callback reports: its id (the tag), the logged key, its mode."""

    metric_id: str
    key: str
    mode: str | None


def _check_metrics(metrics: Any) -> dict[str, str] | None:
    if metrics is None:
        return None
    pairs = list(metrics.items()) if isinstance(metrics, Mapping) else None
    if not pairs or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in pairs
    ):
        raise ConfigurationError(
            f"HypertuneCallback(metrics={metrics!r}): expected a non-empty mapping of the "
            "study's metricId to the logged key, e.g. metrics={'val_acc': 'val/acc', "
            "'latency': 'val/latency'}, or None to report every metric of the study."
        )
    return {str(k): str(v) for k, v in pairs}


def _check_mode(mode: Any) -> None:
    if isinstance(mode, Mapping):
        for metric_id, one in mode.items():
            _check_choice(f"mode[{metric_id!r}]", one, (None, *_MODES))
    else:
        _check_choice("mode", mode, (None, *_MODES))


def _is_finite_number(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:  # e.g. a quoted YAML value, substitute_nonfinite: "0"
        return False


class HypertuneCallback(_CallbackBase):
    """Report the study's metric to Vertex AI each time it is logged, and once at fit end.

    Which metric: ``monitor`` if given, else the study's metric (the first metric
    of ``VERTEX_HYDRA_STUDY``, else ``CLOUD_ML_HP_METRIC_TAG``), else, only when
    the study's metric is unknown, that of the trainer's first ``ModelCheckpoint``
    that monitors something, else its ``EarlyStopping``. Its ``mode``: ``mode``
    if given, else the study's goal, else that of a ``ModelCheckpoint`` or
    ``EarlyStopping`` monitoring it. Both are resolved at ``setup``, which
    raises if nothing names a metric; every disagreement is warned about once.

    When: a metric logged by validation is reported at ``on_validation_end``; a
    metric logged in training (e.g. ``on_epoch=True`` in ``training_step``) at
    the end of the training epoch. Only values logged by the loop that just ran
    are reported (never a stale one), never in the sanity check, in
    ``fast_dev_run`` or outside ``fit``, and at most one line per step. At fit
    end one more line, one step past the last, holds the best value written
    (``final="best"``, per ``mode``) or the last one (``final="last"``), so both
    ``BEST_MEASUREMENT`` and ``LAST_MEASUREMENT`` studies read the right number.
    Only global rank 0 writes. The best-so-far is saved in checkpoints; a fresh
    ``fit`` starts with a fresh best.

    The tag is ``tag``, else the study's metric id, else the ``monitor`` name.

    Several metrics (a study with several ``studySpec.metrics``): ``metrics``
    maps each study ``metricId`` to the key logged in Lightning, and every
    report writes all of them in one line. Without ``metrics``, ``monitor`` and
    ``tag``, a study with several metrics reports each of its metrics that is
    logged under its own id (a study with one metric behaves as above). Each
    metric's mode (``mode`` as a string for all, or a mapping per metricId, else
    the metric's goal in the study, else a watcher of its key) decides its own
    best: the fit-end line holds each metric's best (``final="best"``) or last
    value. A metric that is not logged is named, with the logged keys, at the
    first validation (an error with ``strict`` and an explicit ``metrics``, else
    a warning). All of them must be logged by the same loop (validation, or the
    training epoch).

    Args:
        monitor: Metric key in ``trainer.callback_metrics``, e.g. ``"val/acc"``.
        mode: ``"min"`` or ``"max"``; needed only for ``final="best"``. With several
            metrics, also a mapping ``metricId -> mode``.
        tag: Name written to the metric file; should be the study's ``metricId``.
        final: ``"best"`` (default) or ``"last"``: what the fit-end report holds.
        strict: Raise (``True``) or warn (``False``) when ``monitor`` is missing
            at the first real validation end.
        substitute_nonfinite: Value written instead of NaN/inf (default: skip
            the report, see :func:`~vertex_hydra.report_metric`).
        metrics: ``metricId -> logged key`` of every metric to report in each
            line, e.g. ``{"val_acc": "val/acc", "latency": "val/latency"}``.

    Raises:
        ConfigurationError: An argument is invalid, or at ``setup`` when no
            metric or ``mode`` can be found, or at the first validation end
            (``strict=True``) when the metric was not logged.

    Example:
        >>> from lightning.pytorch import Trainer
        >>> from lightning.pytorch.callbacks import ModelCheckpoint
        >>> callbacks = [ModelCheckpoint(monitor="val/acc", mode="max"), HypertuneCallback()]
        >>> trainer = Trainer(callbacks=callbacks, max_epochs=5, logger=False)  # doctest: +SKIP

        Two study metrics, logged under other names:

        >>> cb = HypertuneCallback(metrics={"val_acc": "val/acc", "latency": "val/latency"},
        ...                        mode={"val_acc": "max", "latency": "min"})
    """

    def __init__(
        self,
        monitor: str | None = None,
        mode: str | Mapping[str, str] | None = None,
        *,
        tag: str | None = None,
        final: str = "best",
        strict: bool = True,
        substitute_nonfinite: float | None = None,
        metrics: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._metrics_arg = _check_metrics(metrics)
        if self._metrics_arg is not None and (monitor is not None or tag is not None):
            raise ConfigurationError(
                f"HypertuneCallback(metrics={self._metrics_arg!r}, monitor={monitor!r}, "
                f"tag={tag!r}): metrics names every reported metric and its key. Fix: drop "
                "monitor and tag, or drop metrics to report one metric."
            )
        if isinstance(mode, Mapping) and self._metrics_arg is None and monitor is not None:
            raise ConfigurationError(
                f"HypertuneCallback(monitor={monitor!r}, mode={dict(mode)!r}): a mode per "
                "metricId goes with several metrics. Fix: pass mode='max' or mode='min'."
            )
        if monitor is not None and (not isinstance(monitor, str) or not monitor):
            raise ConfigurationError(
                f"HypertuneCallback(monitor={monitor!r}): expected a metric name such as "
                "'val/acc', or None to report the study's metric."
            )
        if tag is not None and (not isinstance(tag, str) or not tag):
            raise ConfigurationError(
                f"HypertuneCallback(tag={tag!r}): expected the study's metricId, e.g. "
                "'val/acc', or None to use the study's metric, else the monitor name."
            )
        if substitute_nonfinite is not None and not _is_finite_number(substitute_nonfinite):
            raise ConfigurationError(
                f"HypertuneCallback(substitute_nonfinite={substitute_nonfinite!r}): the "
                "substitute must be finite. Fix: pass e.g. 0.0, or None to skip such reports."
            )
        _check_mode(mode)
        _check_choice("final", final, _FINALS)
        self._monitor_arg = monitor
        self._mode_arg = mode
        self.monitor = monitor
        self.mode: str | None = mode if not isinstance(mode, Mapping) else None
        self.tag = tag
        self.final = final
        self.strict = strict
        self.substitute_nonfinite = substitute_nonfinite
        self.best: float | None = None
        self.best_step: int | None = None
        self.last: float | None = None
        self.last_step: int | None = None
        self._study: tuple[str, str | None] | None = None
        self._checked = False
        self._offset = 0
        self._warned: set[str] = set()
        #: The reported metrics when there are several (``None``: one metric, ``monitor``).
        self.targets: list[_Target] | None = None
        self.best_values: dict[str, float] = {}
        self.best_steps: dict[str, int] = {}
        self.last_values: dict[str, float] = {}

    @property
    def state_key(self) -> str:
        """Checkpoint key; built from the constructor arguments so it is stable before ``setup``.

        Example:
            >>> HypertuneCallback(monitor="val/acc").state_key
            "HypertuneCallback{'monitor': 'val/acc', 'tag': None}"
        """
        key: dict[str, Any] = {"monitor": self._monitor_arg, "tag": self.tag}
        if self._metrics_arg is not None:
            key["metrics"] = self._metrics_arg
        return f"{type(self).__qualname__}{key!r}"

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Resolve ``monitor`` and ``mode`` when fitting, and start a fresh best.

        ``setup`` runs before Lightning restores a checkpoint, so a resumed fit
        gets its best back from :meth:`load_state_dict` afterwards.

        Example:
            ``trainer.fit`` calls ``setup(trainer, model, "fit")`` first:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        if stage != "fit":
            return
        self._study = study_metric()
        self.targets = self._resolve_targets(trainer)
        self.best_values, self.best_steps, self.last_values = {}, {}, {}
        if self.targets is not None:
            self.best = self.best_step = self.last = self.last_step = None
            self._checked = False
            written = last_step()
            self._offset = 0 if written is None else written
            return
        resolved = resolve_monitor(
            self._monitor_arg,
            None if isinstance(self._mode_arg, Mapping) else self._mode_arg,
            self._study,
            watchers_of(trainer),
            tagged=self.tag is not None,
        )
        self.monitor, self.mode = resolved.monitor, resolved.mode
        if self.mode is None and self.final == "best":
            raise ConfigurationError(
                f"HypertuneCallback(monitor={self.monitor!r}, mode=None): cannot tell whether "
                "higher or lower is better (the study's goal is unknown and no "
                "ModelCheckpoint/EarlyStopping monitors it). "
                "Fix: pass mode='max' or mode='min', or final='last'."
            )
        for message in resolved.warnings:
            if trainer.is_global_zero and message not in self._warned:
                self._warned.add(message)
                warnings.warn(message, ReportWarning, stacklevel=2)
        self.best = self.best_step = self.last = self.last_step = None
        self._checked = False
        # A second fit in this process writes after the first one's lines, so that
        # the file's steps keep increasing and its final line stays the last.
        written = last_step()
        self._offset = 0 if written is None else written

    def _resolve_targets(self, trainer: Any) -> list[_Target] | None:
        """The several metrics to report, or ``None`` for the one-metric behaviour."""
        study = read_study()
        goals = {m.metric_id: m.mode for m in study.metrics} if study is not None else {}
        if self._metrics_arg is not None:
            mapping = self._metrics_arg
        elif self._monitor_arg is None and self.tag is None and len(goals) > 1:
            mapping = {metric_id: metric_id for metric_id in goals}
        else:
            return None
        if isinstance(self._mode_arg, Mapping):
            unknown = sorted(set(self._mode_arg) - set(mapping))
            if unknown:
                raise ConfigurationError(
                    f"HypertuneCallback(mode={dict(self._mode_arg)!r}): {unknown} are not "
                    f"reported metrics ({sorted(mapping)}). Fix: key mode by the metricIds."
                )
        targets = []
        watchers = watchers_of(trainer)
        for metric_id, key in mapping.items():
            mode = (
                self._mode_arg.get(metric_id)
                if isinstance(self._mode_arg, Mapping)
                else self._mode_arg
            )
            goal = goals.get(metric_id)
            resolved = resolve_monitor(
                key,
                mode,
                (metric_id, goal) if metric_id in goals else None,
                watchers,
                tagged=True,
            )
            if resolved.mode is None and self.final == "best":
                raise ConfigurationError(
                    f"HypertuneCallback(metrics={{{metric_id!r}: {key!r}}}): cannot tell whether "
                    f"higher or lower {metric_id!r} is better (the study gives no goal for it "
                    "and no ModelCheckpoint/EarlyStopping monitors it). Fix: pass "
                    f"mode={{{metric_id!r}: 'max'}} (or 'min'), or final='last'."
                )
            for message in resolved.warnings:
                if trainer.is_global_zero and message not in self._warned:
                    self._warned.add(message)
                    warnings.warn(message, ReportWarning, stacklevel=3)
            targets.append(_Target(metric_id, key, resolved.mode))
        return targets

    def _several_missing(self, trainer: Any, missing: list[_Target], found: bool) -> None:
        assert self.targets is not None
        available = ", ".join(repr(key) for key in sorted(trainer.callback_metrics)) or "none"
        names = ", ".join(f"{t.metric_id!r} (key {t.key!r})" for t in missing)
        explicit = self._metrics_arg is not None
        message = (
            f"HypertuneCallback: the study's metric(s) {names} were not logged by the end of "
            f"validation, so {'no line can be written' if not found else 'each line lacks them'}."
            f" Logged metrics: {available}. Fix: log them with self.log(<key>, ...), or "
            + (
                "map each metricId to a logged key in metrics=."
                if explicit
                else "pass metrics={<metricId>: <logged key>, ...}."
            )
        )
        if self.strict and (explicit or not found):
            raise ConfigurationError(message)
        if trainer.is_global_zero and message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, ReportWarning, stacklevel=3)

    def _several_fresh(self, trainer: Any, results: Any) -> dict[str, Any]:
        assert self.targets is not None
        fresh = logged_names(results)
        return {
            t.metric_id: trainer.callback_metrics[t.key]
            for t in self.targets
            if (fresh is None or t.key in fresh) and t.key in trainer.callback_metrics
        }

    def _several_on_validation_end(self, trainer: Any) -> None:
        assert self.targets is not None
        epoch_loop = trainer.fit_loop.epoch_loop
        values = self._several_fresh(trainer, epoch_loop.val_loop._results)
        if not self._checked:
            in_training = logged_names(epoch_loop._results) or set()
            missing = [t for t in self.targets if t.metric_id not in values]
            missing = [t for t in missing if t.key not in in_training]
            if missing or values:
                self._checked = True
            if missing:
                trained = any(t.key in in_training for t in self.targets)
                self._several_missing(trainer, missing, bool(values) or trained)
        if values:
            self._several_take(trainer, values)

    def _several_take(self, trainer: Any, raw: dict[str, Any]) -> None:
        assert self.targets is not None
        step = self._offset + int(trainer.global_step)
        written = last_step()
        if written is not None and step <= written:
            return  # a line at this step stands (see _take)
        values = {metric_id: float(value) for metric_id, value in raw.items()}
        if trainer.is_global_zero:
            self._several_report(values, step)
        modes = {t.metric_id: t.mode for t in self.targets}
        for metric_id, value in values.items():
            if not math.isfinite(value) and self.substitute_nonfinite is not None:
                value = float(self.substitute_nonfinite)
            if not math.isfinite(value):
                continue
            self.last_values[metric_id] = value
            self.last_step = step
            best = self.best_values.get(metric_id)
            if (
                best is None
                or (modes[metric_id] == "max" and value > best)
                or (modes[metric_id] != "max" and value < best)
            ):
                self.best_values[metric_id], self.best_steps[metric_id] = value, step

    def _several_report(self, values: dict[str, float], step: int, path: str = "") -> None:
        report_metric(
            metrics=values,
            step=step,
            checkpoint_path=path,
            substitute_nonfinite=self.substitute_nonfinite,
            chief_only=False,
        )

    def _several_fit_end(self, trainer: Any) -> None:
        assert self.targets is not None
        values = self.best_values if self.final == "best" else self.last_values
        if not values:
            warnings.warn(
                "HypertuneCallback: no finite value of "
                f"{[t.metric_id for t in self.targets]} was seen during fit, so no final "
                "report was written.",
                ReportWarning,
                stacklevel=3,
            )
            return
        first = self.targets[0]
        path = ""
        if self.final == "best" and first.metric_id in values:
            path = self._checkpoint_of(trainer, values[first.metric_id], first.key, first.mode)
        step = max(self._offset + int(trainer.global_step), self.last_step or 0, last_step() or 0)
        ordered = {t.metric_id: values[t.metric_id] for t in self.targets if t.metric_id in values}
        self._several_report(ordered, step + 1, path)

    def _reporting(self, trainer: Any) -> bool:
        # TrainerFn is a str enum in both namespaces; trainer.validate() must not report.
        return not (trainer.sanity_checking or trainer.state.fn != "fit" or trainer.fast_dev_run)

    def _missing(self, trainer: Any) -> None:
        available = ", ".join(repr(key) for key in sorted(trainer.callback_metrics)) or "none"
        study = self._study[0] if self._study is not None else None
        if self._monitor_arg is None and study == self.monitor:
            what = f"the study's metric {study!r} (from the trial's environment)"
            fix = f"log it with self.log({study!r}, ...), or pass monitor=<the logged name>"
        else:
            what = "the metric"
            fix = f"log it with self.log({self.monitor!r}, ...), or pass the right monitor"
        message = (
            f"HypertuneCallback(monitor={self.monitor!r}): {what} was not logged by the end "
            f"of validation. Available metrics: {available}. Fix: {fix}."
        )
        if self.strict:
            raise ConfigurationError(message)
        if trainer.is_global_zero:
            warnings.warn(message + " (strict=False: not reported)", ReportWarning, stacklevel=3)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the metric if this validation logged it (skipped in the sanity check).

        Example:
            Each validation epoch of ``fit`` writes one line:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        if not self._reporting(trainer):
            return
        if self.targets is not None:
            self._several_on_validation_end(trainer)
            return
        epoch_loop = trainer.fit_loop.epoch_loop
        fresh = logged_names(epoch_loop.val_loop._results)
        if fresh is None or self.monitor in fresh:
            if self.monitor in trainer.callback_metrics:
                self._checked = True
                self._take(trainer, trainer.callback_metrics[self.monitor])
                return
        if self._checked:
            return
        self._checked = True
        # A metric logged in training is reported at the training epoch's end.
        if self.monitor not in (logged_names(epoch_loop._results) or ()):
            self._missing(trainer)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the metric if this training epoch logged it (e.g. ``on_epoch=True``).

        Example:
            ``self.log("train/loss", loss, on_epoch=True)`` is reported here:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        if not self._reporting(trainer):
            return
        if self.targets is not None:
            values = self._several_fresh(trainer, trainer.fit_loop.epoch_loop._results)
            if values:
                self._checked = True
                self._several_take(trainer, values)
            return
        fresh = logged_names(trainer.fit_loop.epoch_loop._results)
        if fresh is not None and self.monitor in fresh and self.monitor in trainer.callback_metrics:
            self._checked = True
            self._take(trainer, trainer.callback_metrics[self.monitor])

    def _take(self, trainer: Any, raw: Any) -> None:
        value = float(raw)
        step = self._offset + int(trainer.global_step)
        written = last_step()
        if written is not None and step <= written:
            # No optimizer step since the line at this step (e.g. gradient
            # accumulation with several validations per step): the first value stands.
            return
        if trainer.is_global_zero:
            self._report(value, step)  # report_metric refuses or substitutes NaN/inf
        if not math.isfinite(value) and self.substitute_nonfinite is not None:
            value = float(self.substitute_nonfinite)
        # Track exactly what was written, so the final line is the best of the file.
        if math.isfinite(value):
            self.last, self.last_step = value, step
            if self._is_better(value):
                self.best, self.best_step = value, step

    def _is_better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def _report(self, value: float, step: int, checkpoint_path: str = "") -> None:
        study = self._study[0] if self._study is not None else None
        report_metric(
            value,
            tag=self.tag or study or self.monitor,
            step=step,
            checkpoint_path=checkpoint_path,
            substitute_nonfinite=self.substitute_nonfinite,
            chief_only=False,  # the trainer already knows its global rank
        )

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the best (``final="best"``) or last value once more, one step past the last line.

        Example:
            ``fit`` ends with one line holding the best value:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        value = self.best if self.final == "best" else self.last
        if not trainer.is_global_zero or trainer.fast_dev_run:
            return
        if self.targets is not None:
            self._several_fit_end(trainer)
            return
        if value is None:
            warnings.warn(
                f"HypertuneCallback(monitor={self.monitor!r}): no finite value was seen "
                "during fit, so no final report was written.",
                ReportWarning,
                stacklevel=2,
            )
            return
        path = (
            self._checkpoint_of(trainer, value, self.monitor, self.mode)
            if self.final == "best"
            else ""
        )
        # One step past every line, so that the final line is the last
        # measurement however Vertex orders or de-duplicates equal steps.
        step = max(self._offset + int(trainer.global_step), self.last_step or 0, last_step() or 0)
        self._report(value, step + 1, path)

    def _checkpoint_of(self, trainer: Any, value: float, monitor: Any, mode: Any) -> str:
        # Only a ModelCheckpoint that ranks the same metric the same way, and
        # whose best score is the value reported, holds the weights behind it
        # (it may save every n epochs, or be told the opposite mode). Its score
        # is unknown after a resume into a new dirpath; trust the path then.
        for checkpoint in getattr(trainer, "checkpoint_callbacks", []):
            path = getattr(checkpoint, "best_model_path", "")
            score = getattr(checkpoint, "best_model_score", None)
            if (
                path
                and getattr(checkpoint, "monitor", None) == monitor
                and getattr(checkpoint, "mode", None) == mode
                and (score is None or float(score) == value)
            ):
                return str(path)
        return ""

    def state_dict(self) -> dict[str, Any]:
        """Return the best and last values seen, saved into Lightning checkpoints.

        Example:
            >>> HypertuneCallback(monitor="val/acc", mode="max").state_dict()["best"] is None
            True
        """
        if self.targets is not None:
            return {
                "metrics": {t.metric_id: t.key for t in self.targets},
                "best_values": dict(self.best_values),
                "best_steps": dict(self.best_steps),
                "last_values": dict(self.last_values),
                "last_step": self.last_step,
            }
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "best": self.best,
            "best_step": self.best_step,
            "last": self.last,
            "last_step": self.last_step,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the best and last values, so a resumed trial still reports its true best.

        Example:
            >>> cb = HypertuneCallback(monitor="val/acc", mode="max")
            >>> cb.load_state_dict({"monitor": "val/acc", "best": 0.9, "best_step": 40})
            >>> cb.best
            0.9
        """
        self._offset = 0  # a resume: the restored global_step goes on from the checkpoint's
        if self.targets is not None or "metrics" in state_dict:
            mine = {t.metric_id: t.key for t in self.targets or ()}
            if state_dict.get("metrics") != mine:
                warnings.warn(
                    f"HypertuneCallback(metrics={mine or None!r}): the checkpoint tracked "
                    f"{state_dict.get('metrics') or state_dict.get('monitor')!r}; its best "
                    "values are ignored.",
                    ReportWarning,
                    stacklevel=2,
                )
                return
            self.best_values = dict(state_dict.get("best_values") or {})
            self.best_steps = dict(state_dict.get("best_steps") or {})
            self.last_values = dict(state_dict.get("last_values") or {})
            self.last_step = state_dict.get("last_step")
            return
        saved = state_dict.get("monitor")
        if self.monitor is not None and saved is not None and saved != self.monitor:
            warnings.warn(
                f"HypertuneCallback(monitor={self.monitor!r}): the checkpoint tracked "
                f"{saved!r}; its best value is ignored.",
                ReportWarning,
                stacklevel=2,
            )
            return
        for key in ("best", "best_step", "last", "last_step"):
            setattr(self, key, state_dict.get(key))
