"""Issue 14: the callback reports the study's own metric, with its goal, on time and only real values.

Each test runs a real ``Trainer`` on CPU (both namespaces) on a 4->1 linear model
that logs *scripted* values, and reads back the real hypertune file.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

torch = pytest.importorskip("torch")

from test_callback import make_trainer as trainer  # one Trainer recipe for both callback suites

from vertex_hydra import ConfigurationError, HypertuneCallback, report_metric
from vertex_hydra._compat import available_namespaces
from vertex_hydra.report import ReportWarning
from vertex_hydra.study_env import STUDY_ENV, encode_study

NAMESPACES = available_namespaces()
ACC = [0.2, 0.8, 0.6]
LOSS = [1.32, 0.06, 0.003]


@pytest.fixture(params=NAMESPACES)
def pl(request: pytest.FixtureRequest) -> ModuleType:
    """One Lightning namespace."""
    return importlib.import_module(request.param)


@pytest.fixture
def metric_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CLOUD_ML_HP_METRIC_TAG", STUDY_ENV, "CLOUD_ML_TRIAL_ID", "LOCAL_RANK", "RANK"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "metrics" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(path))
    return path


def study(monkeypatch: pytest.MonkeyPatch, metric: str = "val/acc", goal: str = "MAXIMIZE") -> None:
    """Set the trial's environment as ``vertex-hydra local`` does for a one-metric study."""
    monkeypatch.setenv(STUDY_ENV, encode_study([(metric, goal)], {}))
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", metric)


def text(value: float) -> str:
    """How hypertune writes a logged Python float (a float32 tensor)."""
    return str(float(torch.tensor(value, dtype=torch.float32)))


def lines(path: Path) -> list[tuple[int, dict[str, str]]]:
    """``(global_step, {tag: value})`` of each line of the metric file."""
    fixed = {"checkpoint_path", "global_step", "timestamp", "trial"}
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(int(r["global_step"]), {k: v for k, v in r.items() if k not in fixed}) for r in rows]


def module(
    pl: ModuleType,
    *,
    acc: list[float | None] = ACC,
    loss: list[float] | None = LOSS,
    train: list[float] | None = None,
    samples: int = 32,
) -> Any:
    """Logs ``val/acc`` (None: not logged that time) and ``val/loss`` per validation run, and
    ``train/loss`` per epoch from training_step with ``on_epoch=True``."""

    class Scripted(pl.LightningModule):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)
            self.validations = 0

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            if train is not None:
                self.log("train/loss", train[self.current_epoch], on_step=False, on_epoch=True)
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            if self.trainer.sanity_checking:
                index = 0
            else:
                index = self.validations
            if acc[index] is not None:
                self.log("val/acc", float(acc[index]))  # type: ignore[arg-type]
            if loss is not None:
                self.log("val/loss", float(loss[index]))

        def on_validation_epoch_end(self) -> None:
            if not self.trainer.sanity_checking:
                self.validations += 1

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

        def train_dataloader(self) -> Any:
            data = torch.utils.data.TensorDataset(torch.randn(samples, 4), torch.randn(samples, 1))
            return torch.utils.data.DataLoader(data, batch_size=8)

        val_dataloader = train_dataloader

    return Scripted()


def by_loss(pl: ModuleType, tmp_path: Path, **kwargs: Any) -> Any:
    return pl.callbacks.ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val/loss", mode="min", **kwargs
    )


def test_study_metric_wins_over_the_checkpoints_monitor(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study(monkeypatch)
    callback = HypertuneCallback()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)  # a clean run: nothing to warn about
        trainer(pl, tmp_path, [by_loss(pl, tmp_path), callback]).fit(module(pl))
    # The values under val/acc are the accuracies, and the final one is the best accuracy.
    assert lines(metric_file) == [
        (4, {"val/acc": text(0.2)}),
        (8, {"val/acc": text(0.8)}),
        (12, {"val/acc": text(0.6)}),
        (13, {"val/acc": text(0.8)}),
    ]
    assert (callback.monitor, callback.mode) == ("val/acc", "max")


def test_study_tag_without_goal_and_no_watcher_of_it_refuses_at_setup(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", "val/acc")  # a job created without our tools
    with pytest.raises(
        ConfigurationError, match=r"monitor='val/acc', mode=None\): cannot tell.*Fix: pass mode="
    ):
        trainer(pl, tmp_path, [by_loss(pl, tmp_path), HypertuneCallback()]).fit(module(pl))
    assert not metric_file.exists()


def test_study_metric_not_logged_refuses_at_first_validation(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study(monkeypatch, "val/f1")
    fit = trainer(pl, tmp_path, [by_loss(pl, tmp_path), HypertuneCallback()])
    with pytest.raises(
        ConfigurationError,
        match=r"monitor='val/f1'\): the study's metric 'val/f1' .* was not logged .* "
        r"Available metrics: 'val/acc', 'val/loss'\. Fix: log it",
    ):
        fit.fit(module(pl))
    assert fit.current_epoch == 0
    assert not metric_file.exists()


def test_explicit_monitor_unlike_the_study_warns_once(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study(monkeypatch)
    callback = HypertuneCallback("val/loss")
    with pytest.warns(ReportWarning) as record:
        fit = trainer(pl, tmp_path, [callback])
        fit.fit(module(pl))
        trainer(pl, tmp_path, [callback], max_epochs=1).fit(module(pl))
    messages = [
        str(w.message) for w in record if "differs from the study's metric" in str(w.message)
    ]
    assert len(messages) == 1
    assert "monitor='val/loss') differs from the study's metric 'val/acc'" in messages[0]
    # The user's explicit choice stands; the mode is still the study's goal.
    assert callback.mode == "max"


@pytest.mark.parametrize("watcher", ["checkpoint", "early stopping"])
def test_a_watcher_ranking_the_study_metric_the_other_way_is_named(
    pl: ModuleType,
    tmp_path: Path,
    metric_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    watcher: str,
) -> None:
    study(monkeypatch)
    other = (
        pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "c"), monitor="val/acc", mode="min")
        if watcher == "checkpoint"
        else pl.callbacks.EarlyStopping(monitor="val/acc", patience=99)  # default mode 'min'
    )
    name = "ModelCheckpoint" if watcher == "checkpoint" else "EarlyStopping"
    with pytest.warns(
        ReportWarning,
        match=rf"{name}\(monitor='val/acc', mode='min'\) ranks 'val/acc' the opposite way to "
        r"HypertuneCallback \(the study's goal: 'max'\)\. Fix: give it mode='max'",
    ):
        trainer(pl, tmp_path, [other, HypertuneCallback()]).fit(module(pl))
    assert lines(metric_file)[-1] == (13, {"val/acc": text(0.8)})  # the best accuracy


def test_early_stopping_default_mode_is_not_taken_silently(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No study known: the mode can only come from EarlyStopping, whose mode is its default.
    early = pl.callbacks.EarlyStopping(monitor="val/acc", patience=99)
    callback = HypertuneCallback()
    with pytest.warns(
        ReportWarning,
        match=r"mode 'min' is taken from EarlyStopping\(monitor='val/acc', mode='min'\), and "
        r"'min' is also EarlyStopping's default.*Fix: pass mode='min' to confirm, or mode='max'",
    ):
        trainer(pl, tmp_path, [early, callback]).fit(module(pl))
    assert callback.mode == "min"
    # The fix the warning gives: no warning, and the best accuracy last.
    again = tmp_path / "again.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(again))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)
        trainer(
            pl,
            tmp_path,
            [
                pl.callbacks.EarlyStopping(monitor="val/acc", mode="max", patience=99),
                HypertuneCallback(mode="max"),
            ],
        ).fit(module(pl))
    assert lines(again)[-1] == (13, {"val/acc": text(0.8)})


TRAIN = [0.9, 0.0002, 0.003]


@pytest.mark.parametrize("interval", [1.0])
def test_training_metric_is_reported_at_train_epoch_end(
    pl: ModuleType, tmp_path: Path, metric_file: Path, interval: float
) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=str(tmp_path / "c"), monitor="train/loss", mode="min"
    )
    acc: list[float | None] = [0.1] * 6
    trainer(pl, tmp_path, [checkpoint, HypertuneCallback()], val_check_interval=interval).fit(
        module(pl, acc=acc, loss=None, train=TRAIN)
    )
    # Each epoch's own loss, the last epoch included, and the true best at the end.
    assert lines(metric_file) == [
        (4, {"train/loss": text(0.9)}),
        (8, {"train/loss": text(0.0002)}),
        (12, {"train/loss": text(0.003)}),
        (13, {"train/loss": text(0.0002)}),
    ]


def test_fast_dev_run_writes_nothing(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)  # not even "no finite value was seen"
        trainer(pl, tmp_path, [HypertuneCallback()], fast_dev_run=True).fit(module(pl))
    assert not metric_file.exists()


def test_a_metric_not_logged_in_this_validation_is_not_reported_again(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study(monkeypatch)
    acc: list[float | None] = [0.2, None, 0.6, None]
    trainer(pl, tmp_path, [HypertuneCallback()], max_epochs=4).fit(
        module(pl, acc=acc, loss=LOSS * 2)
    )
    assert lines(metric_file) == [
        (4, {"val/acc": text(0.2)}),
        (12, {"val/acc": text(0.6)}),
        (17, {"val/acc": text(0.6)}),
    ]


def test_gradient_accumulation_with_several_validations_per_step(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8 batches per epoch, an optimizer step every 4, a validation every 2 batches:
    # validations at global steps 0, 1, 1, 2 in the first epoch.
    study(monkeypatch)
    acc: list[float | None] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    trainer(
        pl,
        tmp_path,
        [HypertuneCallback()],
        max_epochs=2,
        accumulate_grad_batches=4,
        val_check_interval=0.25,
    ).fit(module(pl, acc=acc, loss=None, samples=64))
    written = lines(metric_file)
    steps = [step for step, _ in written]
    assert steps == sorted(set(steps))  # strictly increasing
    # The first value at a step stands (no optimizer step since): 0.3 and 0.7 are skipped.
    assert written == [
        (0, {"val/acc": text(0.1)}),
        (1, {"val/acc": text(0.2)}),
        (2, {"val/acc": text(0.4)}),
        (3, {"val/acc": text(0.6)}),
        (4, {"val/acc": text(0.8)}),
        (5, {"val/acc": text(0.8)}),
    ]


def test_a_second_fresh_fit_starts_with_a_fresh_best(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study(monkeypatch)
    callback = HypertuneCallback()
    trainer(pl, tmp_path, [callback]).fit(module(pl, acc=[0.9, 0.95, 0.9]))
    trainer(pl, tmp_path, [callback]).fit(module(pl, acc=[0.3, 0.5, 0.4]))
    written = lines(metric_file)
    assert [step for step, _ in written] == [4, 8, 12, 13, 17, 21, 25, 26]
    assert written[-1] == (26, {"val/acc": text(0.5)})  # the second fit's best, not 0.95
    assert callback.best == pytest.approx(0.5)


def test_report_metric_without_tag_uses_the_study(
    metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STUDY_ENV, encode_study([("val/f1", "MAXIMIZE")], {}))
    assert report_metric(0.25, step=3)
    assert lines(metric_file) == [(3, {"val/f1": "0.25"})]
    with pytest.warns(ReportWarning, match=r"tag='f1'\) differs from the study's metric='val/f1'"):
        report_metric(0.5, tag="f1", step=4)


APP = Path(__file__).resolve().parent / "apps" / "study_metric_app"


def run_local_study(tmp_path: Path, metrics: list[dict[str, str]]) -> list[dict[str, str]]:
    """Run the app's two trials (offset 0.0 and 0.1) under ``vertex-hydra local``; its CSV rows."""
    job = {
        "displayName": "study-metric",
        "maxTrialCount": 2,
        "parallelTrialCount": 1,
        "studySpec": {
            "metrics": metrics,
            "parameters": [{"parameterId": "offset", "discreteValueSpec": {"values": [0.0, 0.1]}}],
            "algorithm": "GRID_SEARCH",
            "measurementSelectionType": "LAST_MEASUREMENT",
        },
        "trialJobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": 1,
                    "containerSpec": {
                        "imageUri": "img",
                        "command": [sys.executable, str(APP / "train.py")],
                        "args": [f"root={tmp_path / 'runs'}"],
                    },
                }
            ]
        },
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    work = tmp_path / "w"
    result = subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "local", str(path), "--workdir", str(work)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    import csv

    with (work / "trials.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["state"] for r in rows} == {"SUCCEEDED"}
    assert sorted(float(r["offset"]) for r in rows) == [0.0, 0.1]
    return rows


ACCURACIES = [0.5, 0.7, 0.6]  # what the app logs as val/acc (plus offset)
LOSSES = [0.9, 0.5, 0.1]  # and as val/loss


@pytest.mark.slow
def test_vertex_hydra_local_records_the_accuracies(tmp_path: Path) -> None:
    rows = run_local_study(tmp_path, [{"metricId": "val/acc", "goal": "MAXIMIZE"}])
    for row in rows:
        offset = float(row["offset"])
        assert float(row["value"]) == pytest.approx(max(ACCURACIES) + offset, abs=1e-6)
        written = lines(tmp_path / "w" / "trials" / row["trial_id"] / "output.metrics")
        assert [v["val/acc"] for _, v in written] == [
            text(a + offset) for a in [*ACCURACIES, max(ACCURACIES)]
        ]


@pytest.mark.slow
def test_a_two_metric_local_study_records_both_from_the_default_callback(tmp_path: Path) -> None:
    """The callback, given no metric, reports both study metrics in each line; local records both."""
    rows = run_local_study(
        tmp_path,
        [{"metricId": "val/acc", "goal": "MAXIMIZE"}, {"metricId": "val/loss", "goal": "MINIMIZE"}],
    )
    for row in rows:
        offset = float(row["offset"])
        written = lines(tmp_path / "w" / "trials" / row["trial_id"] / "output.metrics")
        # One line per validation epoch with both metrics, then the fit-end line with each best.
        assert [v["val/acc"] for _, v in written] == [
            text(a + offset) for a in [*ACCURACIES, max(ACCURACIES)]
        ]
        assert [v["val/loss"] for _, v in written] == [text(x) for x in [*LOSSES, min(LOSSES)]]
        # LAST_MEASUREMENT: the fit-end line, i.e. each metric's best.
        assert float(row["value:val/acc"]) == pytest.approx(max(ACCURACIES) + offset, abs=1e-6)
        assert float(row["value:val/loss"]) == pytest.approx(min(LOSSES), abs=1e-6)
    # The same loss and a higher accuracy: the offset-0.1 trial alone is the Pareto front.
    optuna = pytest.importorskip("optuna")
    study = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{tmp_path / 'w' / 'study.db'}"
    )
    assert [t.params["offset"] for t in study.best_trials] == [0.1]
    assert (tmp_path / "w" / "pareto.png").stat().st_size > 0


# Several metrics (issue 10): one line per report holds every study metric.


def two_metric_study(monkeypatch: pytest.MonkeyPatch, *metrics: tuple[str, str]) -> None:
    """The environment ``vertex-hydra local`` gives a trial of a study with several metrics."""
    chosen = metrics or (("val/acc", "MAXIMIZE"), ("val/loss", "MINIMIZE"))
    monkeypatch.setenv(STUDY_ENV, encode_study(list(chosen), {}))


def test_every_study_metric_is_reported_in_one_line_with_its_own_best(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_metric_study(monkeypatch)
    callback = HypertuneCallback()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)
        trainer(pl, tmp_path, [callback]).fit(module(pl))
    both = [{"val/acc": text(a), "val/loss": text(b)} for a, b in zip(ACC, LOSS)]
    # The final line: the best accuracy (max, epoch 2) and the best loss (min, epoch 3).
    assert lines(metric_file) == [
        (4, both[0]),
        (8, both[1]),
        (12, both[2]),
        (13, {"val/acc": text(0.8), "val/loss": text(0.003)}),
    ]
    assert callback.best_steps == {"val/acc": 8, "val/loss": 12}


def test_metrics_maps_study_ids_to_logged_keys(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_metric_study(monkeypatch, ("acc", "MAXIMIZE"), ("loss", "MINIMIZE"))
    callback = HypertuneCallback(metrics={"acc": "val/acc", "loss": "val/loss"}, final="last")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)
        trainer(pl, tmp_path, [callback]).fit(module(pl))
    assert [row for _, row in lines(metric_file)][-2:] == [
        {"acc": text(0.6), "loss": text(0.003)}
    ] * 2


def test_modes_per_metric_without_a_study(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    # The opposite goals to the test above: each metric's own mode decides its best.
    callback = HypertuneCallback(
        metrics={"a": "val/acc", "l": "val/loss"}, mode={"a": "min", "l": "max"}
    )
    trainer(pl, tmp_path, [callback]).fit(module(pl))
    assert lines(metric_file)[-1] == (13, {"a": text(0.2), "l": text(1.32)})


def test_a_metric_without_goal_or_mode_refuses_at_setup(
    pl: ModuleType, tmp_path: Path, metric_file: Path
) -> None:
    callback = HypertuneCallback(metrics={"a": "val/acc", "l": "val/loss"}, mode={"a": "max"})
    with pytest.raises(
        ConfigurationError,
        match=r"metrics=\{'l': 'val/loss'\}\): cannot tell whether higher or lower 'l' is "
        r"better .* Fix: pass mode=\{'l': 'max'\}",
    ):
        trainer(pl, tmp_path, [callback]).fit(module(pl))
    assert not metric_file.exists()


def test_a_mapped_key_not_logged_refuses_naming_it_and_the_logged_keys(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_metric_study(monkeypatch, ("acc", "MAXIMIZE"), ("latency", "MINIMIZE"))
    callback = HypertuneCallback(metrics={"acc": "val/acc", "latency": "val/latency"})
    with pytest.raises(
        ConfigurationError,
        match=r"^HypertuneCallback: the study's metric\(s\) 'latency' \(key 'val/latency'\) were "
        r"not logged by the end of validation, so each line lacks them\. Logged metrics: "
        r"'val/acc', 'val/loss'\. Fix: .* map each metricId to a logged key in metrics=\.$",
    ):
        trainer(pl, tmp_path, [callback]).fit(module(pl))
    assert not metric_file.exists()


def test_a_study_metric_not_logged_is_warned_about_once_and_the_others_reported(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_metric_study(monkeypatch, ("val/acc", "MAXIMIZE"), ("val/f1", "MAXIMIZE"))
    with pytest.warns(ReportWarning) as record:
        trainer(pl, tmp_path, [HypertuneCallback()]).fit(module(pl))
    messages = [str(w.message) for w in record if "not logged" in str(w.message)]
    assert messages == [
        "HypertuneCallback: the study's metric(s) 'val/f1' (key 'val/f1') were not logged by "
        "the end of validation, so each line lacks them. Logged metrics: 'val/acc', 'val/loss'. "
        "Fix: log them with self.log(<key>, ...), or pass metrics={<metricId>: <logged key>, ...}."
    ]
    assert lines(metric_file) == [
        (4, {"val/acc": text(0.2)}),
        (8, {"val/acc": text(0.8)}),
        (12, {"val/acc": text(0.6)}),
        (13, {"val/acc": text(0.8)}),
    ]


def test_several_metrics_resume_with_their_bests(
    pl: ModuleType, tmp_path: Path, metric_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_metric_study(monkeypatch)
    first = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_last=True)
    trainer(pl, tmp_path, [first, HypertuneCallback()], max_epochs=2).fit(
        module(pl, acc=[0.9, 0.1, 0.1], loss=[0.5, 0.7, 0.6])
    )
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "resumed.metrics"))
    callback = HypertuneCallback()
    trainer(pl, tmp_path, [callback]).fit(
        module(pl, acc=[0.1, 0.2, 0.3], loss=[0.9, 0.8, 0.7]), ckpt_path=first.last_model_path
    )
    # The resumed process never logs 0.9 or 0.5, yet the final line holds them.
    assert lines(tmp_path / "resumed.metrics")[-1] == (
        13,
        {"val/acc": text(0.9), "val/loss": text(0.5)},
    )
    assert callback.best_steps == {"val/acc": 4, "val/loss": 4}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": {}}, r"HypertuneCallback\(metrics=\{\}\): expected a non-empty mapping"),
        ({"metrics": {"a": ""}}, r"metrics=\{'a': ''\}\): expected a non-empty mapping"),
        (
            {"metrics": {"a": "val/a"}, "monitor": "val/a"},
            r"metrics=\{'a': 'val/a'\}, monitor='val/a', tag=None\): metrics names every",
        ),
        ({"mode": {"a": "up"}}, r"HypertuneCallback\(mode\['a'\]='up'\): expected one of"),
        (
            {"monitor": "val/a", "mode": {"a": "max"}},
            r"mode=\{'a': 'max'\}\): a mode per metricId goes with several metrics",
        ),
    ],
)
def test_invalid_several_metrics_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        HypertuneCallback(**kwargs)
