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
from typing import TYPE_CHECKING, Any

from vertex_hydra._callback_rules import logged_names, resolve_monitor, watchers_of
from vertex_hydra._compat import callback_base
from vertex_hydra.errors import ConfigurationError
from vertex_hydra.report import ReportWarning, last_step, report_metric, study_metric

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
        ConfigurationError: An argument is invalid, or at ``setup`` when no
            metric or ``mode`` can be found, or at the first validation end
            (``strict=True``) when the metric was not logged.

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
        self._study: tuple[str, str | None] | None = None
        self._checked = False
        self._offset = 0
        self._warned: set[str] = set()

    @property
    def state_key(self) -> str:
        """Checkpoint key; built from the constructor arguments so it is stable before ``setup``.

        Example:
            >>> HypertuneCallback(monitor="val/acc").state_key
            "HypertuneCallback{'monitor': 'val/acc', 'tag': None}"
        """
        return f"{type(self).__qualname__}{ ({'monitor': self._monitor_arg, 'tag': self.tag})!r}"

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
        resolved = resolve_monitor(
            self._monitor_arg,
            self._mode_arg,
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
        if value is None:
            warnings.warn(
                f"HypertuneCallback(monitor={self.monitor!r}): no finite value was seen "
                "during fit, so no final report was written.",
                ReportWarning,
                stacklevel=2,
            )
            return
        path = self._checkpoint_of(trainer, value) if self.final == "best" else ""
        # One step past every line, so that the final line is the last
        # measurement however Vertex orders or de-duplicates equal steps.
        step = max(self._offset + int(trainer.global_step), self.last_step or 0, last_step() or 0)
        self._report(value, step + 1, path)

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
        self._offset = 0  # a resume: the restored global_step goes on from the checkpoint's
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
