"""Reading hypertune metric files (written by the real hypertune writer) and the median rule."""

from __future__ import annotations

import json
import math
import os
import textwrap
from pathlib import Path

import hypertune
import pytest
import yaml
from local_support import PYTHON, write_job

from vertex_hydra.jobspec import MetricSpec, load_job
from vertex_hydra.local import Study, StudyObserver, metrics_file
from vertex_hydra.local.metrics_file import (
    KEEP_PER_TAG,
    TAIL_BYTES,
    MetricLog,
    Report,
    final_measurement,
    measurements,
    parse_reports,
)
from vertex_hydra.local.stopping import should_stop
from vertex_hydra.report import RESERVED_FIELDS
from vertex_hydra.results import StudyResults

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


# --- A trial whose script writes its metric file by hand, run as a real study. ---


class Notes(StudyObserver):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


def _hand_written_study(
    tmp_path: Path, lines: str, *, ends_with_newline: bool
) -> tuple[StudyResults, list[str]]:
    """One trial whose script writes ``lines`` (``{trial}`` is its own id) to its metric file."""
    script = tmp_path / "writer.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            text = {lines!r}.format(trial=os.environ["CLOUD_ML_TRIAL_ID"])
            with open(os.environ["CLOUD_ML_HP_METRIC_FILE"], "w") as f:
                f.write(text if {ends_with_newline!r} else text.rstrip("\\n"))
            """
        )
    )
    job = write_job(
        tmp_path,
        [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}}],
        max_trials=1,
    )
    spec = yaml.safe_load(job.read_text())
    spec["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"] = {
        "imageUri": "img",
        "command": [PYTHON, str(script)],
    }
    job.write_text(yaml.safe_dump(spec))
    seen = Notes()
    results = Study(load_job(job), tmp_path / "w", seed=0).run(seen)
    return results, seen.notes


def _line(step: int, value: float, trial: str = "{trial}", stamp: float | None = None) -> str:
    entry: dict[str, object] = {"global_step": str(step), "trial": trial, "score": str(value)}
    entry["timestamp"] = stamp if stamp is not None else 1000.0 + step
    return (
        json.dumps(entry).replace("{", "{{").replace("}", "}}").replace("{{trial}}", "{trial}")
        + "\n"
    )


def test_an_exited_trials_last_line_without_newline_is_read(tmp_path: Path) -> None:
    results, _ = _hand_written_study(
        tmp_path, _line(1, 0.25) + _line(2, 0.75), ends_with_newline=False
    )
    [trial] = results.trials
    assert (trial.state, trial.values, trial.error) == ("SUCCEEDED", {"score": 0.75}, None)
    assert [m.step for m in trial.measurements] == [1, 2]


def test_a_running_trials_cut_last_line_is_skipped_and_the_final_read_takes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m"
    path.write_text(
        '{"global_step": "1", "timestamp": 1, "acc": "0.5"}\n{"global_step": "2", "acc": "0.7"}'
    )
    log = MetricLog(path)
    assert log.refresh() is True
    assert [r.value for r in log.reports] == [0.5]  # the cut line may still be being written
    assert log.refresh(final=True) is True
    assert [(r.step, r.value) for r in log.reports] == [(1, 0.5), (2, 0.7)]


def test_lines_of_another_trial_are_ignored_with_a_note(tmp_path: Path) -> None:
    results, notes = _hand_written_study(
        tmp_path,
        _line(1, 0.5)
        + _line(3, 0.25).replace(', "trial": "{trial}"', "")
        + _line(4, 123.0, trial="999"),  # the last line, and the best
        ends_with_newline=True,
    )
    [trial] = results.trials
    assert (trial.state, trial.values) == ("SUCCEEDED", {"score": 0.25})  # no "trial": taken
    assert [(m.step, m.values) for m in trial.measurements] == [
        (1, {"score": 0.5}),
        (3, {"score": 0.25}),
    ]
    best = results.best()
    assert best is not None and best.values == {"score": 0.25}  # not trial 999's 123
    assert notes == [
        "not rehearsed here: trialJobSpec.workerPoolSpecs[0].machineSpec.machineType — local "
        "trials share this host's CPUs and memory",
        f"trial 1: metric file {tmp_path / 'w' / 'trials' / '1' / 'output.metrics'} has lines "
        "of trial '999' (not this trial, '1'): they are ignored",
    ]


def test_the_real_writers_lines_of_another_trial_id_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "output.metrics"))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "999")
    hypertune.HyperTune().report_hyperparameter_tuning_metric("val/acc", 123.0, global_step=1)
    log = MetricLog(tmp_path / "output.metrics", trial_id="7")
    assert log.refresh(final=True) is False
    assert log.reports == [] and len(log.notes) == 1 and "'999'" in log.notes[0]
    assert log.refresh(final=True) is False and len(log.notes) == 1  # said once
    everyone = MetricLog(tmp_path / "output.metrics")  # no trial id: every line
    everyone.refresh()
    assert [r.value for r in everyone.reports] == [123.0]


def test_a_line_without_timestamp_keeps_its_place_after_the_line_before_it(tmp_path: Path) -> None:
    text = (
        '{"global_step": "1", "timestamp": 10, "acc": "0.5"}\n'
        '{"global_step": "2", "timestamp": 11, "acc": "0.6"}\n'
        '{"global_step": "3", "acc": "0.4"}\n'  # a final report, written by hand
    )
    reports = parse_reports(text)
    assert [(r.step, r.timestamp) for r in reports] == [(1, 10.0), (2, 11.0), (3, 11.0)]
    values, _ = final_measurement(reports, [MetricSpec("acc", "MAXIMIZE")], "LAST_MEASUREMENT")
    assert values == {"acc": 0.4}
    path = tmp_path / "m"
    path.write_text(text)
    log = MetricLog(path)
    log.refresh()
    assert [r.step for r in log.reports] == [1, 2, 3]


def test_a_file_without_timestamps_is_ordered_by_step(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_text('{"global_step": "2", "acc": "0.6"}\n{"global_step": "1", "acc": "0.5"}\n')
    log = MetricLog(path)
    log.refresh()
    assert [r.step for r in log.reports] == [1, 2]
    values, _ = final_measurement(log.reports, [MetricSpec("acc", "MAXIMIZE")], "LAST_MEASUREMENT")
    assert values == {"acc": 0.6}


def test_a_huge_file_is_read_from_its_tail_with_one_note(tmp_path: Path) -> None:
    path = tmp_path / "m"
    n = 3 * TAIL_BYTES // 60
    with path.open("w") as handle:
        for step in range(1, n + 1):
            value = 99.0 if step == 5 else step / n  # the best is early, far from the tail
            handle.write(
                json.dumps({"global_step": str(step), "timestamp": step, "acc": str(value)}) + "\n"
            )
    assert path.stat().st_size > 2 * TAIL_BYTES
    log = MetricLog(path, trial_id="1")
    assert log.refresh() is True
    steps = [r.step for r in log.reports][2:]  # after the lowest and highest dropped
    assert steps[-1] == n and steps == list(range(steps[0], n + 1))  # a contiguous tail
    assert KEEP_PER_TAG <= len(steps) <= KEEP_PER_TAG + KEEP_PER_TAG // 10
    assert steps[0] > n - TAIL_BYTES // 60  # nothing from before the last MiB
    assert log.notes == [
        f"metric file {path} is {path.stat().st_size / 1e6:.0f} MB, more than hypertune writes "
        "(its last 100 reports): only its last 1 MiB is read"
    ]
    log.refresh(final=True)
    assert len(log.notes) == 1


def test_each_tag_keeps_a_bounded_number_of_reports_and_its_extremes(
    writer: hypertune.HyperTune,
) -> None:
    keep = 200
    log = MetricLog(writer.metric_path, keep=keep)
    assert MetricLog(writer.metric_path).keep == KEEP_PER_TAG
    total = keep * 3
    for step in range(1, total + 1):
        value = 5.0 if step == 3 else -5.0 if step == 4 else step / total
        writer.report_hyperparameter_tuning_metric("val/acc", value, global_step=step)
        if step % 50 == 0:
            log.refresh()
    reports = log.reports
    assert keep + 2 <= len(reports) <= keep + keep // 10 + 2
    assert [r.step for r in reports[2:]] == list(range(total - len(reports) + 3, total + 1))
    assert reports[-1].step == total
    assert [r.step for r in reports[:2]] == [3, 4]  # the dropped extremes are kept
    best, _ = final_measurement(reports, [ACC], "BEST_MEASUREMENT")
    assert best == {"val/acc": 5.0}
    lowest, _ = final_measurement(reports, [MetricSpec("val/acc", "MINIMIZE")], "BEST_MEASUREMENT")
    assert lowest == {"val/acc": -5.0}


def test_dropped_reports_are_not_taken_again_from_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_text(
        "".join(f'{{"global_step": "{i}", "timestamp": {i}, "acc": "{i}"}}\n' for i in range(1, 11))
    )
    log = MetricLog(path, keep=3)
    log.refresh()
    kept = [r.step for r in log.reports]
    assert kept == [1, 7, 8, 9, 10]  # the last 3, and the lowest and highest dropped
    assert log.refresh(force=True) is False
    assert [r.step for r in log.reports] == kept


def test_the_reserved_fields_are_the_writers() -> None:
    assert not hasattr(metrics_file, "_FIELDS")
    assert RESERVED_FIELDS == {"checkpoint_path", "global_step", "timestamp", "trial"}
    assert parse_reports(
        '{"trial": "1", "checkpoint_path": "", "global_step": "1", "acc": 1}\n'
    ) == [Report(1, 0.0, "acc", 1.0)]
