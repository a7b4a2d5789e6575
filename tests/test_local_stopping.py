"""convexAutomatedStoppingSpec (ConvexRule) on curves from the real hypertune writer."""

from __future__ import annotations

from pathlib import Path

import hypertune
import pytest

from vertex_hydra.jobspec import JobSpec, MetricSpec
from vertex_hydra.local.metrics_file import measurements, parse_reports
from vertex_hydra.local.stopping import ConvexRule, MedianRule, convex_prediction, rules_for
from vertex_hydra.results import Measurement

LOSS = MetricSpec("val_loss", "MINIMIZE")
ACC = MetricSpec("val/acc", "MAXIMIZE")


def _curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trial: int, values: list[float], tag: str
) -> list[Measurement]:
    """The measurements of one trial, written by the real writer and read back as local does."""
    path = tmp_path / f"{trial}" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(path))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", str(trial))
    writer = hypertune.HyperTune()
    for step, value in enumerate(values, 1):
        writer.report_hyperparameter_tuning_metric(tag, value, global_step=step)
    reports = parse_reports(path.read_text())
    return [
        Measurement(step, float(step), dict(vals)) for step, vals in measurements(reports, [tag])
    ]


def _loss(a: float, b: float, steps: int = 10) -> list[float]:
    """A convex, falling loss curve: a + b / step."""
    return [a + b / step for step in range(1, steps + 1)]


@pytest.fixture
def completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[Measurement]]:
    # Three finished trials; the best ends at 0.2 + 1.0 / 10 = 0.3.
    return [
        _curve(tmp_path, monkeypatch, i, _loss(a, 1.0), "val_loss")
        for i, a in enumerate((0.2, 0.4, 0.6), 1)
    ]


def test_a_clearly_worse_trial_stops_with_the_predicted_value_in_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, completed: list[list[Measurement]]
) -> None:
    rule = ConvexRule({"minMeasurementCount": 2, "maxStepCount": 10}, LOSS)
    worse = _curve(tmp_path, monkeypatch, 4, _loss(1.5, 1.0, steps=3), "val_loss")
    # Losses 2.5, 2.0, 1.8333: the steepest slope of the last two is -0.1667 per step,
    # so at step 10 it could reach at best 1.8333 - 7 * 0.1667 = 0.6667 > 0.3.
    assert rule.check(worse, completed) == (
        "predicted 0.6667 at step 10, worse than the best finished trial (0.3) (convex rule)"
    )
    assert rule.check(worse[:1], completed) is None  # fewer than minMeasurementCount
    assert rule.check(worse, completed[:2]) is None  # fewer than minMeasurementCount + 1 done


def test_a_clearly_better_trial_never_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, completed: list[list[Measurement]]
) -> None:
    rule = ConvexRule({"minMeasurementCount": 2, "maxStepCount": 10}, LOSS)
    better = _curve(tmp_path, monkeypatch, 5, _loss(0.05, 1.0), "val_loss")
    assert [rule.check(better[:k], completed) for k in range(1, 11)] == [None] * 10


def test_defaults_wait_for_five_measurements_six_trials_and_learn_max_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = [
        _curve(tmp_path, monkeypatch, i, [0.1 * step for step in range(1, 9)], "val/acc")
        for i in range(1, 7)
    ]  # six trials to 0.8 at step 8
    rule = ConvexRule({}, ACC)  # minMeasurementCount 5, maxStepCount learnt: 8
    flat_slow = _curve(tmp_path, monkeypatch, 7, [0.01 * step for step in range(1, 7)], "val/acc")
    assert rule.check(flat_slow[:4], done) is None  # 4 measurements < 5
    assert rule.check(flat_slow[:5], done[:5]) is None  # 5 completed trials < 6
    assert rule.check(flat_slow[:5], done) == (
        "predicted 0.08 at step 8, worse than the best finished trial (0.8) (convex rule)"
    )


def test_min_step_count_and_elapsed_duration() -> None:
    done = [[Measurement(s, 10.0 * s, {"val/acc": 0.1 * s}) for s in range(1, 11)]] * 2
    early = [Measurement(s, 10.0 * s, {"val/acc": 0.01 * s}) for s in (1, 2)]
    spec = {"minMeasurementCount": 1, "maxStepCount": 10, "minStepCount": 2}
    assert ConvexRule(spec, ACC).check(early, done) is None  # no step past 2
    assert ConvexRule(spec, ACC).check(early[:1] + [Measurement(3, 30.0, {"val/acc": 0.02})],
                                       done) is not None  # fmt: skip
    # Default minStepCount: maxStepCount / 10 = 1, so step 2 is past it.
    assert ConvexRule(dict(spec, minStepCount=None), ACC).check(early, done) is not None
    seconds = {"minMeasurementCount": 1, "maxStepCount": 100, "minStepCount": 15,
               "useElapsedDuration": True}  # fmt: skip
    assert ConvexRule(seconds, ACC).check(early, done) == (
        "predicted 0.1 at s 100, worse than the best finished trial (1) (convex rule)"
    )
    assert ConvexRule(dict(seconds, minStepCount=25), ACC).check(early, done) is None


def test_a_flat_curve_gives_no_prediction_and_never_stops() -> None:
    done = [[Measurement(s, None, {"val/acc": 0.1 * s}) for s in range(1, 11)]] * 3
    flat = [Measurement(s, None, {"val/acc": 0.05}) for s in (1, 2, 3)]
    assert ConvexRule({"minMeasurementCount": 2, "maxStepCount": 10}, ACC).check(flat, done) is None
    assert convex_prediction([(1, 0.05), (2, 0.05)], 10, "MAXIMIZE") is None


def test_the_prediction_is_an_over_estimate_of_a_concave_curve() -> None:
    # Accuracy 1 - 1/step levels off: any later value is below the prediction.
    curve = [(s, 1 - 1 / s) for s in (3, 4, 5)]
    assert convex_prediction(curve, 20, "MAXIMIZE") == pytest.approx(0.8 + (1 / 12) * 15)
    assert convex_prediction(curve, 20, "MAXIMIZE") > 1 - 1 / 20
    # A worsening curve is predicted at its best value so far, not extrapolated down.
    assert convex_prediction([(1, 0.5), (2, 0.4)], 10, "MAXIMIZE") == 0.5
    assert convex_prediction([(1, 0.5), (2, 0.6)], 10, "MINIMIZE") == 0.5


def test_best_measurement_takes_each_completed_trials_best_value() -> None:
    # A finished trial that peaked at 0.9 and ended at 0.5.
    done = [[Measurement(s, None, {"val/acc": v}) for s, v in enumerate([0.9, 0.7, 0.5], 1)]] * 3
    running = [Measurement(s, None, {"val/acc": 0.3 + 0.05 * s}) for s in (1, 2)]
    spec = {"minMeasurementCount": 2, "maxStepCount": 4}
    assert ConvexRule(spec, ACC, "LAST_MEASUREMENT").check(running, done) is None  # 0.5 <= 0.5
    assert ConvexRule(spec, ACC, "BEST_MEASUREMENT").check(running, done) == (
        "predicted 0.5 at step 4, worse than the best finished trial (0.9) (convex rule)"
    )


def test_rules_for_applies_median_and_convex_and_leaves_decay_curve() -> None:
    pool = {"containerSpec": {"imageUri": "i", "command": ["python", "t.py"]}}
    raw = {
        "studySpec": {
            "metrics": [{"metricId": "val_loss", "goal": "MINIMIZE"}],
            "parameters": [
                {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.1, "maxValue": 1}}
            ],
            "medianAutomatedStoppingSpec": {},
            "convexAutomatedStoppingSpec": {"maxStepCount": 50},
            "decayCurveStoppingSpec": {},
        },
        "trialJobSpec": {"workerPoolSpecs": [pool]},
    }
    rules, unapplied = rules_for(JobSpec.from_dict(raw))
    assert [type(r) for r in rules] == [MedianRule, ConvexRule]
    assert unapplied == ["decayCurveStoppingSpec"]
    convex = rules[1]
    assert isinstance(convex, ConvexRule)
    assert (convex.max_step, convex.min_step, convex.min_measurements) == (50.0, None, 5)
