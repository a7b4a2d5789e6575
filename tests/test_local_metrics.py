"""Reading hypertune metric files (written by the real hypertune writer) and the median rule."""

from __future__ import annotations

import math
import os
from pathlib import Path

import hypertune
import pytest

from vertex_hydra.jobspec import MetricSpec
from vertex_hydra.local.metrics_file import (
    MetricLog,
    Report,
    final_measurement,
    measurements,
    parse_reports,
)
from vertex_hydra.local.stopping import should_stop

ACC = MetricSpec("val/acc", "MAXIMIZE")
LOSS = MetricSpec("val_loss", "MINIMIZE")


@pytest.fixture
def writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> hypertune.HyperTune:
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "hp" / "output.metrics"))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "7")
    return hypertune.HyperTune()


def test_reads_what_the_real_writer_writes(writer: hypertune.HyperTune) -> None:
    writer.report_hyperparameter_tuning_metric("val/acc", 0.5, global_step=1)
    writer.report_hyperparameter_tuning_metric("val/acc", 0.75, global_step=2)
    writer.report_hyperparameter_tuning_metric("val_loss", 0.3, global_step=2)
    reports = parse_reports(Path(writer.metric_path).read_text())
    assert [(r.step, r.tag, r.value) for r in reports] == [
        (1, "val/acc", 0.5),
        (2, "val/acc", 0.75),
        (2, "val_loss", 0.3),
    ]
    assert measurements(reports, ["val/acc", "val_loss"]) == [
        (1, {"val/acc": 0.5}),
        (2, {"val/acc": 0.75, "val_loss": 0.3}),
    ]


def test_a_half_written_file_yields_its_complete_lines_only(writer: hypertune.HyperTune) -> None:
    writer.report_hyperparameter_tuning_metric("val/acc", 0.5, global_step=1)
    writer.report_hyperparameter_tuning_metric("val/acc", 0.6, global_step=2)
    text = Path(writer.metric_path).read_text()
    cut = text[: len(text) - 20]  # as a reader sees it mid-rewrite
    assert [r.value for r in parse_reports(cut)] == [0.5]
    assert parse_reports("") == []
    assert parse_reports('not json\n[1, 2]\n{"global_step": "x"}\n') == []


def test_log_keeps_reports_across_rewrites_and_beyond_100(writer: hypertune.HyperTune) -> None:
    log = MetricLog(writer.metric_path)
    assert log.refresh() is False  # no file yet
    for step in range(1, 131):
        writer.report_hyperparameter_tuning_metric("val/acc", step / 1000, global_step=step)
        if step % 10 == 0:
            assert log.refresh() is True
    assert len(Path(writer.metric_path).read_text().splitlines()) == 100  # hypertune's cap
    assert [r.step for r in log.reports] == list(range(1, 131))
    assert log.refresh() is False  # unchanged file: nothing new


def test_forced_refresh_sees_a_rewrite_that_kept_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_text('{"global_step": "1", "timestamp": 1, "acc": "0.5"}\n')
    log = MetricLog(path)
    assert log.refresh() is True
    stat = path.stat()
    path.write_text('{"global_step": "2", "timestamp": 2, "acc": "0.7"}\n')  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # within one clock tick
    assert log.refresh() is False
    assert log.refresh(force=True) is True
    assert [r.value for r in log.reports] == [0.5, 0.7]


def test_log_rereads_a_file_caught_mid_line(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_text('{"global_step": "1", "timestamp": 1, "acc": "0.5"}\n{"global_st')
    log = MetricLog(path)
    assert log.refresh() is True
    path.write_text(
        '{"global_step": "1", "timestamp": 1, "acc": "0.5"}\n'
        '{"global_step": "2", "timestamp": 2, "acc": "0.7"}\n'
    )
    assert log.refresh() is True
    assert [r.value for r in log.reports] == [0.5, 0.7]
    assert log.tags() == ["acc"]


def _reports(*values: float, tag: str = "val/acc") -> list[Report]:
    return [Report(step=i + 1, timestamp=float(i), tag=tag, value=v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("selection", "expected"), [("LAST_MEASUREMENT", 0.6), ("BEST_MEASUREMENT", 0.9)]
)
def test_last_versus_best_measurement(selection: str, expected: float) -> None:
    values, reason = final_measurement(_reports(0.5, 0.9, 0.6), [ACC], selection)
    assert (values, reason) == ({"val/acc": expected}, None)


def test_best_measurement_follows_the_goal() -> None:
    values, _ = final_measurement(
        _reports(0.5, 0.2, 0.6, tag="val_loss"), [LOSS], "BEST_MEASUREMENT"
    )
    assert values == {"val_loss": 0.2}


def test_best_measurement_takes_the_other_metrics_from_the_same_step() -> None:
    reports = _reports(0.5, 0.9, 0.6) + [
        Report(1, 0.1, "val_loss", 0.7),
        Report(2, 1.1, "val_loss", 0.4),
        Report(3, 2.1, "val_loss", 0.3),
    ]
    values, _ = final_measurement(reports, [ACC, LOSS], "BEST_MEASUREMENT")
    assert values == {"val/acc": 0.9, "val_loss": 0.4}
    values, _ = final_measurement(reports, [ACC, LOSS], "LAST_MEASUREMENT")
    assert values == {"val/acc": 0.6, "val_loss": 0.3}


def test_no_report_of_the_metric_is_infeasible_and_names_what_was_reported() -> None:
    values, reason = final_measurement(_reports(0.9, tag="val_acc"), [ACC], "LAST_MEASUREMENT")
    assert values == {}
    assert reason is not None
    assert "no measurement of ['val/acc']; it reported ['val_acc']" in reason
    _, reason = final_measurement([], [ACC], "LAST_MEASUREMENT")
    assert reason is not None and "its metric file has no report" in reason


def test_a_non_finite_final_value_is_infeasible() -> None:
    values, reason = final_measurement(_reports(0.5, math.nan), [ACC], "LAST_MEASUREMENT")
    assert values == {} and reason == "final measurement is not finite: {'val/acc': nan}"
    values, reason = final_measurement(_reports(0.5, math.nan), [ACC], "BEST_MEASUREMENT")
    assert (values, reason) == ({"val/acc": 0.5}, None)


COMPLETED = [
    [(1, 0.5), (2, 0.7), (3, 0.8)],
    [(1, 0.6), (2, 0.8), (3, 0.9)],
    [(1, 0.4), (2, 0.6), (3, 0.7)],
]


@pytest.mark.parametrize(
    ("running", "stop"),
    [
        ([(1, 0.2)], True),  # at step 1: 0.2 < median(0.5, 0.6, 0.4) = 0.5
        ([(1, 0.5)], False),  # equal to the median is not strictly below
        (
            [(1, 0.2), (2, 0.58)],
            True,
        ),  # at step 2 the running averages are 0.6, 0.7, 0.5: median 0.6
        ([(1, 0.65), (2, 0.3)], False),  # its best (0.65), not its latest, is compared
        ([], False),
    ],
)
def test_median_rule_uses_running_averages_up_to_the_last_step(
    running: list[tuple[float, float]], stop: bool
) -> None:
    assert should_stop(running, COMPLETED, "MAXIMIZE") is stop


def test_median_rule_minimize_and_minimum_number_of_completed_trials() -> None:
    done = [[(1, 1.0)], [(1, 2.0)], [(1, 3.0)]]
    assert should_stop([(1, 2.5)], done, "MINIMIZE") is True
    assert should_stop([(1, 1.5)], done, "MINIMIZE") is False
    assert should_stop([(1, 9.0)], done[:2], "MINIMIZE") is False  # fewer than 3 completed
    assert should_stop([(1, 9.0)], done[:2], "MINIMIZE", min_completed=2) is True
    # Completed trials with no measurement at or before the running trial's position do not count.
    assert should_stop([(0.5, 9.0)], done, "MINIMIZE") is False
