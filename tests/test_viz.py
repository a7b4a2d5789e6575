"""The study plots: learning curves, importances, parallel coordinates, Pareto front, best marks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.results import Measurement, StudyResults, TrialResult, plot
from vertex_hydra.results.importance import importance_note, in_memory_study, param_importances
from vertex_hydra.results.plots import parameter_figure
from vertex_hydra.results.plots_study import learning_curve_figure, parallel_figure, pareto_figure
from vertex_hydra.results.views import learning_curves, parallel_columns

PNG = b"\x89PNG\r\n\x1a\n"
ACC = MetricSpec("val/acc", "MAXIMIZE")
MS = MetricSpec("latency", "MINIMIZE")
LR = ParameterSpec("lr", "DOUBLE", 1e-4, 1e-1, scale_type="UNIT_LOG_SCALE")
ACT = ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu", "tanh"))
DEPTH = ParameterSpec("depth", "INTEGER", 1, 3)


def _trial(i: int, state: str, lr: float, act: str, depth: int, steps: int) -> TrialResult:
    # val/acc is driven by lr alone (peak at 1e-2); latency by depth alone.
    final = 0.95 - 0.1 * abs(math.log10(lr) + 2)
    ms = [
        Measurement(s, 2.0 * s, {"val/acc": final * s / steps, "latency": float(depth)})
        for s in range(1, steps + 1)
    ]
    values = dict(ms[-1].values) if state in ("SUCCEEDED", "STOPPED") else {}
    return TrialResult(str(i), state, {"lr": lr, "act": act, "depth": depth}, values, 9.0, ms)


def _study(metrics: tuple[MetricSpec, ...] = (ACC,)) -> StudyResults:
    rows = [
        ("SUCCEEDED", 1e-4, "relu", 1, 6),
        ("SUCCEEDED", 1e-3, "gelu", 3, 6),
        ("STOPPED", 3e-4, "tanh", 2, 3),
        ("SUCCEEDED", 1e-2, "relu", 2, 6),
        ("FAILED", 5e-2, "gelu", 1, 2),
        ("SUCCEEDED", 3e-2, "tanh", 3, 6),
        ("STOPPED", 1e-1, "relu", 1, 4),
        ("SUCCEEDED", 3e-3, "gelu", 2, 6),
        ("SUCCEEDED", 2e-4, "tanh", 3, 6),
        ("SUCCEEDED", 6e-2, "gelu", 1, 6),
    ]
    trials = [_trial(i, *row) for i, row in enumerate(rows, start=1)]
    return StudyResults(metrics, (LR, ACT, DEPTH), trials)


def test_every_plot_is_a_png_and_pareto_only_with_two_metrics(tmp_path: Path) -> None:
    one = [p.name for p in plot(_study(), tmp_path / "one")]
    two = plot(_study((ACC, MS)), tmp_path / "two")
    assert one == [
        "history.png",
        "learning_curves.png",
        "importances.png",
        "parallel_coordinates.png",
        "param_lr.png",
        "param_act.png",
        "param_depth.png",
    ]
    assert [p.name for p in two] == one[:4] + ["pareto.png"] + one[4:]
    for path in two:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_learning_curves_hold_every_measurement_and_mark_where_stopped_trials_end() -> None:
    results = _study()
    curves = learning_curves(results)
    assert [c.trial_id for c in curves] == [str(i) for i in range(1, 11)]  # FAILED too
    stopped = [c for c in curves if c.state == "STOPPED"]
    assert [(c.trial_id, c.steps) for c in stopped] == [("3", (1, 2, 3)), ("7", (1, 2, 3, 4))]
    fig = learning_curve_figure(ACC, curves, results.best())
    ax = fig.axes[0]
    marks = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert marks["stopped here"] == [[3.0, stopped[0].values[-1]], [4.0, stopped[1].values[-1]]]
    best = results.best()
    assert best is not None and best.trial_id == "4"
    assert marks["best (trial 4)"] == [[6.0, best.values["val/acc"]]]
    lines = [line for line in ax.lines if len(line.get_xdata()) == 3]
    assert lines and lines[0].get_ydata().tolist() == list(stopped[0].values)


def test_best_is_starred_at_its_coordinates_in_every_parameter_plot() -> None:
    results = _study()
    best = results.best()
    assert best is not None
    for parameter, x in ((LR, 1e-2), (ACT, 0.0), (DEPTH, 2.0)):
        fig = parameter_figure(parameter, results.metrics, results.measured(), best)
        marks = {c.get_label(): c.get_offsets().tolist() for c in fig.axes[0].collections}
        assert marks["best (trial 4)"] == [[x, best.values["val/acc"]]], parameter


def test_parallel_coordinates_scale_each_axis_and_draw_the_best_line_last() -> None:
    results = _study()
    measured = results.measured()
    columns = parallel_columns(results.parameters, ACC, measured)
    assert [c.label for c in columns] == ["lr", "act", "depth", "val/acc"]
    best_index = measured.index(results.best())  # type: ignore[arg-type]
    # lr 1e-2 on a log axis 1e-4..1e-1 sits at 2/3; relu is the first of 3 values; depth 2 of 1..3.
    heights = [c.heights[best_index] for c in columns]
    assert heights[:3] == pytest.approx([2 / 3, 0.0, 0.5]) and heights[3] == 1.0
    assert [label for _, label in columns[2].ticks] == ["1", "2", "3"]
    fig = parallel_figure(columns, measured, results, results.best())
    best_line = fig.axes[0].lines[-1]
    assert best_line.get_label() == "best (trial 4)"
    assert best_line.get_ydata().tolist() == pytest.approx(heights)


def test_pareto_front_is_joined_and_best_starred() -> None:
    results = _study((ACC, MS))
    fig = pareto_figure(results)
    ax = fig.axes[0]
    front = next(line for line in ax.lines if line.get_label() == "Pareto front")
    expected = sorted((t.values["val/acc"], t.values["latency"]) for t in results.pareto_front())
    assert list(zip(front.get_xdata(), front.get_ydata())) == expected
    best = results.best()
    assert best is not None
    marks = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert marks[f"best (trial {best.trial_id})"] == [
        [best.values["val/acc"], best.values["latency"]]
    ]


def test_importances_rank_the_parameter_that_drives_each_metric_first() -> None:
    ranked = param_importances(_study((ACC, MS)))
    assert list(ranked) == ["val/acc", "latency"]
    assert next(iter(ranked["val/acc"])) == "lr"
    assert next(iter(ranked["latency"])) == "depth"
    assert sum(ranked["val/acc"].values()) == pytest.approx(1.0)


def test_importances_are_skipped_with_a_note_when_too_few_trials() -> None:
    few = StudyResults((ACC,), (LR, ACT, DEPTH), _study().trials[:4])
    assert importance_note(few) == (
        "Parameter importances need at least 5 measured trials; this study has 4."
    )
    assert param_importances(few) == {}
    assert importance_note(StudyResults((ACC,), (LR,), _study().trials)) is not None


def test_in_memory_study_keeps_states_values_and_intermediate_values() -> None:
    study = in_memory_study(_study())
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE"] * 4 + ["FAIL"] + ["COMPLETE"] * 5
    stopped = study.trials[2]
    assert stopped.user_attrs == {"vertex_trial_id": "3"}
    assert sorted(stopped.intermediate_values) == [1, 2, 3]
    assert stopped.values == [stopped.intermediate_values[3]]


# --- drawing in forked copies of the process ----------------------------------------------

_PLOT_IN_A_FRESH_PROCESS = """
import os, sys
sys.path.insert(0, {tests!r})
from test_viz import _study, ACC, MS
from vertex_hydra.results import plot
before = os.times()
names = [p.name for p in plot(_study((ACC, MS)), {out!r})]
after = os.times()
print(after.children_user + after.children_system - before.children_user - before.children_system)
"""


def test_a_command_draws_in_forked_copies_what_one_process_draws(tmp_path: Path) -> None:
    """Forked copies (a process with no other thread) write the very bytes one process writes."""
    import subprocess
    import sys
    import threading

    code = _PLOT_IN_A_FRESH_PROCESS.format(
        tests=str(Path(__file__).parent), out=str(tmp_path / "a")
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert float(out.splitlines()[-1]) > 0  # the copies drew: their CPU time is counted here
    # With another thread alive (a notebook's, say) this process draws alone.
    waiting = threading.Event()
    thread = threading.Thread(target=waiting.wait)
    thread.start()
    try:
        import os

        before = os.times()
        plot(_study((ACC, MS)), tmp_path / "b")
        after = os.times()
    finally:
        waiting.set()
        thread.join()
    assert after.children_user + after.children_system == (
        before.children_user + before.children_system
    )
    one = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert one == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(one) == 8  # history, curves, importances, parallel, pareto, 3 parameters
    for name in one:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_the_warm_up_draws_every_kind_of_plot_of_a_made_up_study_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vertex_hydra.results.plots import figures, sample_results, warm_up

    monkeypatch.chdir(tmp_path)
    sample = sample_results((ACC, MS), (LR, ACT, DEPTH))
    assert [t.state for t in sample.trials] == ["SUCCEEDED", "STOPPED", "SUCCEEDED", "FAILED"]
    assert [t.parameters for t in sample.trials][:2] == [
        {"lr": 1e-4, "act": "relu", "depth": 1},
        {"lr": 1e-1, "act": "gelu", "depth": 3},
    ]
    shares = {"val/acc": {"lr": 0.5, "act": 0.25, "depth": 0.25}}
    assert [name for name, _ in figures(sample, shares)] == [
        "history.png",
        "learning_curves.png",
        "importances.png",
        "parallel_coordinates.png",
        "pareto.png",
        "param_lr.png",
        "param_act.png",
        "param_depth.png",
    ]
    warm_up((ACC, MS), (LR, ACT, DEPTH))
    warm_up()  # no study given: a made-up metric
    assert list(tmp_path.iterdir()) == []


def test_a_stopped_warm_up_starts_no_figure() -> None:
    """Set before the warm-up begins (a study shorter than its first figure), nothing is drawn."""
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "from vertex_hydra.jobspec import MetricSpec\n"
        "from vertex_hydra.results.plots import warm_up\n"
        "stop = threading.Event(); stop.set()\n"
        "warm_up((MetricSpec('acc', 'MAXIMIZE'),), (), stop)\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
