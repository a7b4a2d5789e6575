"""``HypertuneCallback`` with a real ``Trainer`` on CPU, from both Lightning namespaces.

The tiny model logs a *scripted* value per epoch, so each test knows which
value every line of the metric file must hold.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import hydra
import pytest

torch = pytest.importorskip("torch")

from vertex_hydra import ConfigurationError, HypertuneCallback
from vertex_hydra._compat import available_namespaces
from vertex_hydra.errors import MissingDependencyError
from vertex_hydra.report import ReportWarning

NAMESPACES = available_namespaces()
STEPS_PER_EPOCH = 4  # 32 samples, batch size 8


@pytest.fixture(params=NAMESPACES)
def pl(request: pytest.FixtureRequest) -> ModuleType:
    """One Lightning namespace (``lightning.pytorch`` or ``pytorch_lightning``)."""
    return importlib.import_module(request.param)


@pytest.fixture
def metric_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CLOUD_ML_HP_METRIC_TAG", "CLOUD_ML_TRIAL_ID", "LOCAL_RANK", "RANK", "NODE_RANK"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "metrics" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(path))
    return path


def logged(value: float) -> float:
    """The value Lightning hands back for a logged Python float: a float32 tensor."""
    return float(torch.tensor(value, dtype=torch.float32))


def text(value: float) -> str:
    """How hypertune writes that logged value."""
    return str(logged(value))


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def scripted_module(pl: ModuleType, acc: list[float], loss: list[float] | None = None) -> Any:
    """A 4->1 linear model that logs ``val/acc`` (and ``val/loss``) from per-epoch schedules."""

    class Scripted(pl.LightningModule):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)
            self.training_steps = 0

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            self.training_steps += 1
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val/acc", float(acc[self.current_epoch]))
            if loss is not None:
                self.log("val/loss", float(loss[self.current_epoch]))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

        def train_dataloader(self) -> Any:
            data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
            return torch.utils.data.DataLoader(data, batch_size=8)

        val_dataloader = train_dataloader

    return Scripted()


def make_trainer(pl: ModuleType, tmp_path: Path, callbacks: list[Any], **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "accelerator": "cpu",
        "max_epochs": 3,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "limit_val_batches": 1,
        "default_root_dir": str(tmp_path),
    }
    options.update(kwargs)
    return pl.Trainer(callbacks=callbacks, **options)


def checkpoint(pl: ModuleType, tmp_path: Path, **kwargs: Any) -> Any:
    return pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), **kwargs)


def test_instantiated_by_hydra_is_a_callback_of_every_namespace() -> None:
    callback = hydra.utils.instantiate({"_target_": "vertex_hydra.HypertuneCallback"})
    assert type(callback) is HypertuneCallback
    for name in NAMESPACES:
        assert isinstance(callback, importlib.import_module(name).Callback)


def test_reports_each_epoch_then_best(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "5")
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", "val/acc")
    schedule = [0.3, 0.9, 0.5]
    model_checkpoint = checkpoint(pl, tmp_path, monitor="val/acc", mode="max")
    callback = hydra.utils.instantiate({"_target_": "vertex_hydra.HypertuneCallback"})
    trainer = make_trainer(pl, tmp_path, [model_checkpoint, callback])
    trainer.fit(scripted_module(pl, schedule))  # the sanity check runs and must not report

    lines = read_lines(metric_file)
    assert len(lines) == len(schedule) + 1
    steps = [STEPS_PER_EPOCH * (epoch + 1) for epoch in range(len(schedule))]
    for line, value, step in zip(lines, schedule, steps):
        assert line == {
            "checkpoint_path": "",
            "global_step": str(step),
            "timestamp": line["timestamp"],
            "trial": "5",
            "val/acc": text(value),
        }
    final = lines[-1]
    assert final["val/acc"] == text(max(schedule))
    # strictly after every epoch line, so it is the last measurement on Vertex too
    assert final["global_step"] == str(trainer.global_step + 1) == str(steps[-1] + 1)
    assert final["checkpoint_path"] == model_checkpoint.best_model_path
    assert Path(final["checkpoint_path"]).name.startswith("epoch=1")
    assert (callback.monitor, callback.mode) == ("val/acc", "max")
    assert (callback.best, callback.best_step) == (logged(max(schedule)), steps[1])


def test_final_last_reports_last_value(pl: ModuleType, tmp_path: Path, metric_file: Path) -> None:
    schedule = [0.3, 0.9, 0.5]
    callbacks = [
        checkpoint(pl, tmp_path, monitor="val/acc", mode="max"),
        HypertuneCallback(final="last"),
    ]
    make_trainer(pl, tmp_path, callbacks).fit(scripted_module(pl, schedule))
    values = [line["val/acc"] for line in read_lines(metric_file)]
    assert values == [text(v) for v in schedule + schedule[-1:]]
    assert read_lines(metric_file)[-1]["checkpoint_path"] == ""


ACC, LOSS = [0.2, 0.8, 0.6], [0.9, 0.1, 0.4]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("second checkpoint monitors it", (0.9, "epoch=0")),
        ("checkpoint ranks the other way", (0.3, None)),
        ("checkpoint skipped the best epoch", (0.9, None)),
    ],
)
def test_final_checkpoint_path_holds_the_reported_value(
    pl: ModuleType, tmp_path: Path, metric_file: Path, case: str, expected: tuple[float, str | None]
) -> None:
    by_acc = checkpoint(pl, tmp_path, monitor="val/acc", mode="max")
    callbacks: dict[str, list[Any]] = {
        "second checkpoint monitors it": [
            checkpoint(pl, tmp_path / "loss", monitor="val/loss", mode="min"),
            by_acc,
            HypertuneCallback("val/acc"),  # mode from the checkpoint that monitors it
        ],
        "checkpoint ranks the other way": [by_acc, HypertuneCallback(mode="min")],
        "checkpoint skipped the best epoch": [
            checkpoint(pl, tmp_path, monitor="val/acc", mode="max", every_n_epochs=2),
            HypertuneCallback(),
        ],
    }
    make_trainer(pl, tmp_path, callbacks[case]).fit(scripted_module(pl, [0.9, 0.3, 0.5], LOSS))
    final = read_lines(metric_file)[-1]
    value, checkpoint_name = expected
    assert final["val/acc"] == text(value)
    if checkpoint_name is None:
        assert final["checkpoint_path"] == ""
    else:
        assert final["checkpoint_path"] == by_acc.best_model_path
        assert Path(final["checkpoint_path"]).name.startswith(checkpoint_name)


@pytest.mark.parametrize(
    ("watchers", "kwargs", "expected"),
    [
        ([("ckpt", "val/acc", "max"), ("es", "val/loss", "min")], {}, ("val/acc", "max")),
        ([("es", "val/loss", "min")], {}, ("val/loss", "min")),
        ([("ckpt", None, "min"), ("es", "val/acc", "max")], {}, ("val/acc", "max")),
        (
            [("ckpt", "val/acc", "max"), ("es", "val/loss", "min")],
            {"monitor": "val/loss"},
            ("val/loss", "min"),
        ),
        ([("ckpt", "val/acc", "max")], {"monitor": "val/loss", "mode": "min"}, ("val/loss", "min")),
        ([("ckpt", "val/acc", "max")], {"mode": "min"}, ("val/acc", "min")),
    ],
)
def test_monitor_and_mode_inference(
    pl: ModuleType,
    tmp_path: Path,
    metric_file: Path,
    watchers: list[tuple[str, str | None, str]],
    kwargs: dict[str, str],
    expected: tuple[str, str],
) -> None:
    callbacks: list[Any] = []
    for kind, monitor, mode in watchers:
        if kind == "ckpt":
            callbacks.append(checkpoint(pl, tmp_path, monitor=monitor, mode=mode))
        else:
            callbacks.append(pl.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=99))
    callback = HypertuneCallback(**kwargs)
    make_trainer(pl, tmp_path, [callback, *callbacks]).fit(scripted_module(pl, ACC, LOSS))
    assert (callback.monitor, callback.mode) == expected
    monitor, mode = expected
    series = ACC if monitor == "val/acc" else LOSS
    best = max(series) if mode == "max" else min(series)
    assert [line[monitor] for line in read_lines(metric_file)] == [text(v) for v in series + [best]]


def test_nothing_to_infer_raises_at_setup(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    model = scripted_module(pl, ACC)
    trainer = make_trainer(
        pl, tmp_path, [HypertuneCallback()]
    )  # default ModelCheckpoint has no monitor
    with pytest.raises(
        ConfigurationError, match=r"HypertuneCallback\(monitor=None\): cannot infer which metric"
    ):
        trainer.fit(model)
    assert model.training_steps == 0
    assert not metric_file.exists()


def test_explicit_monitor_without_mode_raises_at_setup(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    model = scripted_module(pl, ACC)
    trainer = make_trainer(pl, tmp_path, [HypertuneCallback(monitor="val/acc")])
    with pytest.raises(
        ConfigurationError, match=r"monitor='val/acc', mode=None\): cannot tell.*mode='max'"
    ):
        trainer.fit(model)
    assert model.training_steps == 0


def test_explicit_monitor_final_last_needs_no_mode(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    make_trainer(pl, tmp_path, [HypertuneCallback("val/acc", final="last")]).fit(
        scripted_module(pl, ACC)
    )
    assert [line["val/acc"] for line in read_lines(metric_file)] == [
        text(v) for v in ACC + ACC[-1:]
    ]


def test_missing_metric_strict_raises_listing_available(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    trainer = make_trainer(pl, tmp_path, [HypertuneCallback("val/f1", "max")])
    with pytest.raises(
        ConfigurationError,
        match=r"monitor='val/f1'\): the metric was not logged .* Available metrics: 'val/acc', 'val/loss'",
    ):
        trainer.fit(scripted_module(pl, ACC, LOSS))
    assert trainer.current_epoch == 0  # at the first real validation end
    assert not metric_file.exists()


def test_missing_metric_non_strict_warns(pl: ModuleType, tmp_path: Path, metric_file: Path) -> None:
    trainer = make_trainer(pl, tmp_path, [HypertuneCallback("val/f1", "max", strict=False)])
    with pytest.warns(ReportWarning) as record:
        trainer.fit(scripted_module(pl, ACC))
    messages = [str(w.message) for w in record if issubclass(w.category, ReportWarning)]
    assert any(
        "Available metrics: 'val/acc'" in m and "strict=False: not reported" in m for m in messages
    )
    assert any("no finite value was seen during fit" in m for m in messages)
    assert trainer.current_epoch == len(ACC)  # training went on
    assert not metric_file.exists()


def test_nan_epoch_is_skipped_and_never_best(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    schedule = [0.3, math.nan, 0.5]
    callbacks = [checkpoint(pl, tmp_path, monitor="val/acc", mode="max"), HypertuneCallback()]
    with pytest.warns(ReportWarning, match=r"'val/acc' is nan at step 8; nothing was written"):
        make_trainer(pl, tmp_path, callbacks).fit(scripted_module(pl, schedule))
    lines = read_lines(metric_file)
    assert [(line["global_step"], line["val/acc"]) for line in lines] == [
        ("4", text(0.3)),
        ("12", text(0.5)),
        ("13", text(0.5)),  # the final line, one step past the last epoch
    ]


def test_nan_epoch_substituted(pl: ModuleType, tmp_path: Path, metric_file: Path) -> None:
    schedule = [0.3, math.nan, 0.2]
    callback = HypertuneCallback("val/acc", "max", substitute_nonfinite=0.0)
    with pytest.warns(ReportWarning, match=r"wrote substitute_nonfinite=0.0 instead"):
        make_trainer(pl, tmp_path, [callback]).fit(scripted_module(pl, schedule))
    values = [line["val/acc"] for line in read_lines(metric_file)]
    assert values == [text(0.3), "0.0", text(0.2), text(0.3)]


def test_validate_alone_does_not_report(pl: ModuleType, tmp_path: Path, metric_file: Path) -> None:
    trainer = make_trainer(pl, tmp_path, [HypertuneCallback("val/acc", "max")])
    (results,) = trainer.validate(scripted_module(pl, ACC))
    assert results["val/acc"] == pytest.approx(ACC[0])
    assert not metric_file.exists()


def test_explicit_tag_wins_and_warns_once_if_unlike_study(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = f"accuracy-{pl.__name__}"  # warned once per process and (tag, study) pair
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", study)
    callback = HypertuneCallback("val/acc", "max", tag="acc")
    with pytest.warns(
        ReportWarning, match=rf"tag='acc'\) differs from CLOUD_ML_HP_METRIC_TAG='{study}'"
    ) as record:
        make_trainer(pl, tmp_path, [callback]).fit(scripted_module(pl, ACC))
    assert sum("differs from" in str(w.message) for w in record) == 1
    assert [line["acc"] for line in read_lines(metric_file)] == [text(v) for v in ACC + [max(ACC)]]


def test_resume_from_checkpoint_keeps_best(
    pl: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metric_file: Path
) -> None:
    schedule = [0.9, 0.2, 0.4]
    first = checkpoint(pl, tmp_path, monitor="val/acc", mode="max", save_last=True)
    make_trainer(pl, tmp_path, [first, HypertuneCallback()], max_epochs=2).fit(
        scripted_module(pl, schedule)
    )
    saved = torch.load(first.last_model_path, weights_only=True)
    (state,) = [v for k, v in saved["callbacks"].items() if k.startswith("HypertuneCallback")]
    assert (state["best"], state["best_step"]) == (logged(0.9), STEPS_PER_EPOCH)

    # A resumed trial is a new process: a new writer, so a new file here.
    resumed_file = tmp_path / "resumed" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(resumed_file))
    callback = HypertuneCallback()
    second = checkpoint(pl, tmp_path / "second", monitor="val/acc", mode="max")
    trainer = make_trainer(pl, tmp_path, [second, callback])
    trainer.fit(scripted_module(pl, schedule), ckpt_path=first.last_model_path)
    lines = [(line["global_step"], line["val/acc"]) for line in read_lines(resumed_file)]
    # Lightning may re-run the interrupted epoch's validation on restart; either
    # way the resumed process never sees 0.9, yet its final line must hold it.
    assert lines[-2:] == [("12", text(0.4)), ("13", text(0.9))]
    assert text(0.9) not in [value for _, value in lines[:-1]]
    assert (callback.best, callback.best_step, callback.last) == (
        logged(0.9),
        STEPS_PER_EPOCH,
        logged(0.4),
    )


def test_state_dict_round_trip() -> None:
    source = HypertuneCallback("val/acc", "max")
    source.best, source.best_step, source.last, source.last_step = 0.7, 30, 0.6, 40
    target = HypertuneCallback("val/acc", "max")
    target.load_state_dict(source.state_dict())
    assert target.state_dict() == source.state_dict()
    assert target.state_key == source.state_key != HypertuneCallback("val/loss").state_key


def test_state_of_another_monitor_is_ignored() -> None:
    callback = HypertuneCallback("val/acc", "max")
    with pytest.warns(
        ReportWarning, match=r"the checkpoint tracked 'val/loss'; its best value is ignored"
    ):
        callback.load_state_dict({"monitor": "val/loss", "best": 0.1, "best_step": 3})
    assert callback.best is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"mode": "maximum"},
            r"HypertuneCallback\(mode='maximum'\): expected one of None, 'min', 'max'",
        ),
        ({"final": "first"}, r"HypertuneCallback\(final='first'\): expected one of 'best', 'last'"),
        ({"monitor": ""}, r"HypertuneCallback\(monitor=''\): expected a metric name"),
        ({"tag": ""}, r"HypertuneCallback\(tag=''\): expected the study's metricId"),
        (
            {"substitute_nonfinite": math.nan},
            r"substitute_nonfinite=nan\): the substitute must be finite",
        ),
        (
            {"substitute_nonfinite": "0"},
            r"substitute_nonfinite='0'\): the substitute must be finite",
        ),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        HypertuneCallback(**kwargs)


_ONE_NAMESPACE = """
import sys
sys.modules[sys.argv[1]] = None  # as if that namespace were not installed
import importlib
from vertex_hydra import HypertuneCallback
ns = importlib.import_module(sys.argv[2])
assert isinstance(HypertuneCallback(), ns.Callback)
bases = [c.__module__ for c in HypertuneCallback.__mro__]
print(",".join(b for b in bases if "lightning" in b))
"""


@pytest.mark.slow
@pytest.mark.skipif(len(NAMESPACES) < 2, reason="needs both namespaces installed")
@pytest.mark.parametrize(
    ("blocked", "kept"),
    [("pytorch_lightning", "lightning.pytorch"), ("lightning", "pytorch_lightning")],
)
def test_works_with_only_one_namespace_installed(blocked: str, kept: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _ONE_NAMESPACE, blocked, kept],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modules = result.stdout.strip().splitlines()[-1].split(",")
    assert all(m.startswith(kept) for m in modules), modules


def test_lightning_older_than_2_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from vertex_hydra import _compat

    monkeypatch.setattr(_compat, "_installed_version", lambda name: "1.9.5")
    with pytest.raises(
        MissingDependencyError,
        match=r"needs lightning>=2.0 or pytorch-lightning>=2.0; found: .*1\.9\.5",
    ):
        _compat.callback_base.__wrapped__()
    if len(NAMESPACES) == 2:
        monkeypatch.setattr(
            _compat, "_installed_version", lambda name: "1.9.5" if "_" in name else "2.1.0"
        )
        assert _compat.callback_base.__wrapped__().__bases__ == (
            importlib.import_module(NAMESPACES[0]).Callback,
        )


_LOGGER_KEPT = """
import importlib, sys
importlib.import_module(sys.argv[1])
import lightning_utilities.core.rank_zero as shared
before = (shared.log, shared.rank_zero_deprecation_category)
from vertex_hydra import HypertuneCallback
assert (shared.log, shared.rank_zero_deprecation_category) == before, shared.log.name
"""


@pytest.mark.slow
@pytest.mark.skipif(len(NAMESPACES) < 2, reason="needs both namespaces installed")
@pytest.mark.parametrize("first", NAMESPACES)
def test_importing_the_other_namespace_keeps_the_users_rank_zero_logger(first: str) -> None:
    # Each namespace points lightning_utilities' shared rank-zero logger at itself on import.
    result = subprocess.run(
        [sys.executable, "-c", _LOGGER_KEPT, first],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_warnings_are_not_raised_for_a_clean_run(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)
        make_trainer(pl, tmp_path, [HypertuneCallback("val/acc", "max")]).fit(
            scripted_module(pl, ACC)
        )
    assert len(read_lines(metric_file)) == len(ACC) + 1
