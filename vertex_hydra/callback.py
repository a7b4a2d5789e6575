"""``HypertuneCallback``: report a Lightning run's monitored metric to Vertex AI every epoch.

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
import os
import warnings
from typing import TYPE_CHECKING, Any

from vertex_hydra._compat import callback_base
from vertex_hydra.errors import ConfigurationError
from vertex_hydra.report import ReportWarning, report_metric

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


def _is_finite_number(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:  # e.g. a quoted YAML value, substitute_nonfinite: "0"
        return False


class HypertuneCallback(_CallbackBase):
    """Report the monitored metric to Vertex AI after every validation epoch, and once at fit end.

    ``monitor`` and ``mode`` default to those of the trainer's first
    ``ModelCheckpoint`` that monitors something, else its ``EarlyStopping``;
    they are resolved at ``setup``, which raises if nothing can be inferred.
    Each real validation epoch (not the sanity check) writes one line with the
    trainer's ``global_step``; at fit end one more line, at one step past the
    last, holds the best value seen (``final="best"``, per ``mode``) or the
    last one (``final="last"``), so both ``BEST_MEASUREMENT`` and ``LAST_MEASUREMENT`` studies read the right
    number. Only global rank 0 writes. The best-so-far is saved in checkpoints.

    The tag is ``tag``, else ``CLOUD_ML_HP_METRIC_TAG`` (the study's metric id),
    else the ``monitor`` name.

    Args:
        monitor: Metric key in ``trainer.callback_metrics``, e.g. ``"val/acc"``.
        mode: ``"min"`` or ``"max"``; needed only for ``final="best"``.
        tag: Name written to the metric file; should be the study's ``metricId``.
        final: ``"best"`` (default) or ``"last"``: what the fit-end report holds.
        strict: Raise (``True``) or warn (``False``) when ``monitor`` is missing
            at the first real validation end.
        substitute_nonfinite: Value written instead of NaN/inf (default: skip
            the report, see :func:`~vertex_hydra.report_metric`).

    Raises:
        ConfigurationError: An argument is invalid, or at ``setup`` when
            ``monitor``/``mode`` cannot be inferred, or at the first validation
            end (``strict=True``) when ``monitor`` was not logged.

    Example:
        >>> from lightning.pytorch import Trainer
        >>> from lightning.pytorch.callbacks import ModelCheckpoint
        >>> callbacks = [ModelCheckpoint(monitor="val/acc", mode="max"), HypertuneCallback()]
        >>> trainer = Trainer(callbacks=callbacks, max_epochs=5, logger=False)  # doctest: +SKIP
    """

    def __init__(
        self,
        monitor: str | None = None,
        mode: str | None = None,
        *,
        tag: str | None = None,
        final: str = "best",
        strict: bool = True,
        substitute_nonfinite: float | None = None,
    ) -> None:
        super().__init__()
        if monitor is not None and (not isinstance(monitor, str) or not monitor):
            raise ConfigurationError(
                f"HypertuneCallback(monitor={monitor!r}): expected a metric name such as "
                "'val/acc', or None to infer it from ModelCheckpoint/EarlyStopping."
            )
        if tag is not None and (not isinstance(tag, str) or not tag):
            raise ConfigurationError(
                f"HypertuneCallback(tag={tag!r}): expected the study's metricId, e.g. "
                "'val/acc', or None to use CLOUD_ML_HP_METRIC_TAG, else the monitor name."
            )
        if substitute_nonfinite is not None and not _is_finite_number(substitute_nonfinite):
            raise ConfigurationError(
                f"HypertuneCallback(substitute_nonfinite={substitute_nonfinite!r}): the "
                "substitute must be finite. Fix: pass e.g. 0.0, or None to skip such reports."
            )
        _check_choice("mode", mode, (None, *_MODES))
        _check_choice("final", final, _FINALS)
        self._monitor_arg = monitor
        self._mode_arg = mode
        self.monitor = monitor
        self.mode = mode
        self.tag = tag
        self.final = final
        self.strict = strict
        self.substitute_nonfinite = substitute_nonfinite
        self.best: float | None = None
        self.best_step: int | None = None
        self.last: float | None = None
        self.last_step: int | None = None
        self._checked = False

    @property
    def state_key(self) -> str:
        """Checkpoint key; built from the constructor arguments so it is stable before ``setup``.

        Example:
            >>> HypertuneCallback(monitor="val/acc").state_key
            "HypertuneCallback{'monitor': 'val/acc', 'tag': None}"
        """
        return f"{type(self).__qualname__}{ ({'monitor': self._monitor_arg, 'tag': self.tag})!r}"

    def _infer(self, trainer: Any) -> tuple[str, str | None]:
        watchers = [
            cb
            for cb in getattr(trainer, "checkpoint_callbacks", [])
            if getattr(cb, "monitor", None)
        ]
        early = getattr(trainer, "early_stopping_callbacks", [])
        watchers += [cb for cb in early if getattr(cb, "monitor", None)]
        if self._monitor_arg is None:
            if not watchers:
                raise ConfigurationError(
                    "HypertuneCallback(monitor=None): cannot infer which metric to report: "
                    "the Trainer has no ModelCheckpoint with a monitor and no EarlyStopping. "
                    "Fix: pass monitor='val/acc' and mode='max' (your metric), or add "
                    "ModelCheckpoint(monitor=..., mode=...) to the callbacks."
                )
            return str(watchers[0].monitor), self._mode_arg or watchers[0].mode
        same = [cb for cb in watchers if cb.monitor == self._monitor_arg]
        return self._monitor_arg, self._mode_arg or (same[0].mode if same else None)

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Resolve ``monitor`` and ``mode`` when fitting; raise now rather than after the run.

        Example:
            ``trainer.fit`` calls ``setup(trainer, model, "fit")`` first:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        if stage != "fit":
            return
        self.monitor, self.mode = self._infer(trainer)
        if self.mode is None and self.final == "best":
            raise ConfigurationError(
                f"HypertuneCallback(monitor={self.monitor!r}, mode=None): cannot tell whether "
                "higher or lower is better (no ModelCheckpoint/EarlyStopping monitors it). "
                "Fix: pass mode='max' or mode='min', or final='last'."
            )
        self._checked = False

    def _is_better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def _value(self, trainer: Any) -> float | None:
        metrics = trainer.callback_metrics
        if self.monitor in metrics:
            self._checked = True
            return float(metrics[self.monitor])
        if not self._checked:
            self._checked = True
            available = ", ".join(repr(key) for key in sorted(metrics)) or "none"
            message = (
                f"HypertuneCallback(monitor={self.monitor!r}): the metric was not logged by "
                f"the end of validation. Available metrics: {available}. Fix: log it with "
                f"self.log({self.monitor!r}, ...) in validation_step, or pass the right monitor."
            )
            if self.strict:
                raise ConfigurationError(message)
            if trainer.is_global_zero:
                warnings.warn(
                    message + " (strict=False: not reported)", ReportWarning, stacklevel=2
                )
        return None

    def _report(self, value: float, step: int, checkpoint_path: str = "") -> None:
        tag = self.tag or os.environ.get("CLOUD_ML_HP_METRIC_TAG") or self.monitor
        report_metric(
            value,
            tag=tag,
            step=step,
            checkpoint_path=checkpoint_path,
            substitute_nonfinite=self.substitute_nonfinite,
            chief_only=False,  # the trainer already knows its global rank
        )

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the monitored value with ``trainer.global_step`` (skipped in the sanity check).

        Example:
            Each validation epoch of ``fit`` writes one line:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        # TrainerFn is a str enum in both namespaces; trainer.validate() must not report.
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        value = self._value(trainer)
        if value is None:
            return
        step = int(trainer.global_step)
        if trainer.is_global_zero:
            self._report(value, step)  # report_metric refuses or substitutes NaN/inf
        if not math.isfinite(value) and self.substitute_nonfinite is not None:
            value = float(self.substitute_nonfinite)
        # Track exactly what was written, so the final line is the best of the file.
        if math.isfinite(value):
            self.last, self.last_step = value, step
            if self._is_better(value):
                self.best, self.best_step = value, step

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the best (``final="best"``) or last value once more, one step past the last epoch.

        Example:
            ``fit`` ends with one line holding the best value:

            >>> trainer.fit(model)  # doctest: +SKIP
        """
        value = self.best if self.final == "best" else self.last
        if not trainer.is_global_zero:
            return
        if value is None:
            warnings.warn(
                f"HypertuneCallback(monitor={self.monitor!r}): no finite value was seen "
                "during fit, so no final report was written.",
                ReportWarning,
                stacklevel=2,
            )
            return
        path = self._checkpoint_of(trainer, value) if self.final == "best" else ""
        # One step past every epoch line, so that the final line is the last
        # measurement however Vertex orders or de-duplicates equal steps.
        step = max(int(trainer.global_step), self.last_step or 0) + 1
        self._report(value, step, path)

    def _checkpoint_of(self, trainer: Any, value: float) -> str:
        # Only a ModelCheckpoint that ranks the same metric the same way, and
        # whose best score is the value reported, holds the weights behind it
        # (it may save every n epochs, or be told the opposite mode). Its score
        # is unknown after a resume into a new dirpath; trust the path then.
        for checkpoint in getattr(trainer, "checkpoint_callbacks", []):
            path = getattr(checkpoint, "best_model_path", "")
            score = getattr(checkpoint, "best_model_score", None)
            if (
                path
                and getattr(checkpoint, "monitor", None) == self.monitor
                and getattr(checkpoint, "mode", None) == self.mode
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
