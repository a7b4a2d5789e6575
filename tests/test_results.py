"""The shared results model: best trial, Pareto front, overrides, table, CSV, plots, render."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from local_support import read_csv

from vertex_hydra.jobspec import MetricSpec, ParameterSpec
from vertex_hydra.results import (
    Measurement,
    StudyResults,
    TrialResult,
    format_table,
    plot,
    render,
    write_csv,
)

PNG = b"\x89PNG\r\n\x1a\n"
PARAMS = (
    ParameterSpec("model.optimizer.lr", "DOUBLE", 1e-4, 1e-1, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("data.batch_size", "DISCRETE", values=(32, 64)),
    ParameterSpec("model.act", "CATEGORICAL", values=("relu", "gelu new", "it's")),
)
ACC = MetricSpec("val/acc", "MAXIMIZE")


def _study() -> StudyResults:
    return StudyResults(
        (ACC,),
        PARAMS,
        [
            TrialResult(
                "1",
                "SUCCEEDED",
                {"model.optimizer.lr": 0.01, "data.batch_size": 64, "model.act": "relu"},
                {"val/acc": 0.91},
                3.5,
                [Measurement(1, None, {"val/acc": 0.8}), Measurement(2, None, {"val/acc": 0.91})],
            ),
            TrialResult(
                "2",
                "FAILED",
                {"model.optimizer.lr": 0.05, "data.batch_size": 32, "model.act": "relu"},
                {},
                1.25,
                error="exit status 1; stderr ends:\nboom",
            ),
            TrialResult(
                "3",
                "STOPPED",
                {"model.optimizer.lr": 0.0003, "data.batch_size": 32, "model.act": "gelu new"},
                {"val/acc": 0.6},
                2.0,
            ),
            TrialResult(
                "4",
                "SUCCEEDED",
                {"model.optimizer.lr": 0.002, "data.batch_size": 64, "model.act": "it's"},
                {"val/acc": 0.95},
                4.0,
            ),
            TrialResult(
                "5",
                "INFEASIBLE",
                {"model.optimizer.lr": 0.002, "data.batch_size": 64, "model.act": "relu"},
                {},
                4.0,
                error="no measurement",
            ),
        ],
    )


def test_best_ignores_unmeasured_trials_and_follows_the_goal() -> None:
    results = _study()
    assert results.best() is not None and results.best().trial_id == "4"
    assert [t.trial_id for t in results.measured()] == ["1", "3", "4"]
    minimise = StudyResults((MetricSpec("val/acc", "MINIMIZE"),), PARAMS, results.trials)
    assert minimise.best() is not None and minimise.best().trial_id == "3"
    assert StudyResults((ACC,), PARAMS, results.trials[1:2]).best() is None
    assert StudyResults((ACC,), PARAMS, []).best_overrides() == ""


def test_best_overrides_are_hydra_overrides_after_shell_splitting() -> None:
    line = _study().best_overrides()
    tokens = shlex.split(line)
    parsed = {
        o.key_or_group: o.value() for o in map(OverridesParser.create().parse_override, tokens)
    }
    assert parsed == {"model.optimizer.lr": 0.002, "data.batch_size": 64, "model.act": "it's"}


def test_multi_objective_best_and_pareto_front() -> None:
    metrics = (ACC, MetricSpec("latency", "MINIMIZE"))
    trials = [
        TrialResult(str(i), "SUCCEEDED", {}, {"val/acc": a, "latency": ms})
        for i, (a, ms) in enumerate([(0.9, 9.0), (0.8, 1.0), (0.7, 5.0), (0.9, 8.0)], start=1)
    ]
    results = StudyResults(metrics, (), trials)
    assert [t.trial_id for t in results.pareto_front()] == ["2", "4"]
    assert (
        results.best() is not None and results.best().trial_id == "4"
    )  # ties on acc: latency decides
    table = format_table(results)
    assert "val/acc (MAXIMIZE)" in table and "latency (MINIMIZE)" in table
    assert [line.split()[:2] for line in table.splitlines()[2:]] == [
        ["1", "SUCCEEDED"],
        ["2", "*"],
        ["3", "SUCCEEDED"],
        ["4", "*"],
    ]


def test_table_lists_every_trial_with_reasons() -> None:
    table = format_table(_study())
    lines = table.splitlines()
    assert lines[0].split() == [
        "trial",
        "state",
        "model.optimizer.lr",
        "data.batch_size",
        "model.act",
        "value",
        "(val/acc,",
        "MAXIMIZE)",
        "seconds",
    ]
    assert lines[2].split() == ["1", "SUCCEEDED", "0.01", "64", "relu", "0.91", "3.5"]
    assert lines[5].split()[:2] == ["4", "*"]
    assert "trial 2 FAILED: exit status 1; stderr ends:\nboom" in table
    assert "trial 5 INFEASIBLE: no measurement" in table


def test_csv_has_one_row_per_trial_with_exact_values(tmp_path: Path) -> None:
    path = write_csv(_study(), tmp_path / "sub" / "trials.csv")
    rows = read_csv(path)
    assert list(rows[0]) == [
        "trial_id",
        "state",
        "model.optimizer.lr",
        "data.batch_size",
        "model.act",
        "value",
        "seconds",
    ]
    assert [r["trial_id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0] == {
        "trial_id": "1",
        "state": "SUCCEEDED",
        "model.optimizer.lr": "0.01",
        "data.batch_size": "64",
        "model.act": "relu",
        "value": "0.91",
        "seconds": "3.5",
    }
    assert rows[1]["value"] == "" and rows[1]["state"] == "FAILED"
    assert rows[2]["model.act"] == "gelu new"


def test_csv_multi_objective_columns(tmp_path: Path) -> None:
    metrics = (ACC, MetricSpec("latency", "MINIMIZE"))
    results = StudyResults(
        metrics,
        PARAMS[:1],
        [
            TrialResult(
                "1", "SUCCEEDED", {"model.optimizer.lr": 0.1}, {"val/acc": 0.5, "latency": 2.0}
            )
        ],
    )
    rows = read_csv(write_csv(results, tmp_path / "t.csv"))
    assert rows == [
        {
            "trial_id": "1",
            "state": "SUCCEEDED",
            "model.optimizer.lr": "0.1",
            "value:val/acc": "0.5",
            "value:latency": "2.0",
            "seconds": "",
        }
    ]


def test_plots_are_png_files_one_per_parameter_plus_the_study_plots(tmp_path: Path) -> None:
    paths = plot(_study(), tmp_path)
    # 3 measured trials: too few for importances (see tests/test_viz.py); one metric: no Pareto.
    assert [p.name for p in paths] == [
        "history.png",
        "learning_curves.png",
        "parallel_coordinates.png",
        "param_model.optimizer.lr.png",
        "param_data.batch_size.png",
        "param_model.act.png",
    ]
    for path in paths:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    assert plot(StudyResults((ACC,), PARAMS, []), tmp_path / "none") == []


def test_plot_does_not_touch_pyplot_state(tmp_path: Path) -> None:
    """In a fresh interpreter, so that no other test has imported pyplot first."""
    import subprocess
    import sys

    code = (
        "import sys, pathlib\n"
        "from vertex_hydra.jobspec import MetricSpec, ParameterSpec\n"
        "from vertex_hydra.results import StudyResults, TrialResult, plot\n"
        "p = ParameterSpec('lr', 'DOUBLE', min_value=0.001, max_value=0.1)\n"
        "trials = [TrialResult(str(i), 'SUCCEEDED', {'lr': 0.01 * i}, {'acc': 0.1 * i}) for i in (1, 2, 3)]\n"
        "paths = plot(StudyResults((MetricSpec('acc', 'MAXIMIZE'),), (p,), trials), pathlib.Path(sys.argv[1]))\n"
        "assert len(paths) == 3, paths\n"
        "print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'clean')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "clean"


def test_render_prints_table_best_and_every_path(tmp_path: Path) -> None:
    out = io.StringIO()
    render(_study(), tmp_path, out)
    text = out.getvalue()
    assert text.startswith("trial  state")
    assert "Best trial 4: val/acc=0.95\n" in text
    assert f"Best overrides: {_study().best_overrides()}\n" in text
    assert f"Trials CSV: {tmp_path / 'trials.csv'}\n" in text
    assert text.count("Plot: ") == 6 and "Report: " in text and (tmp_path / "history.png").exists()


def test_render_without_a_measured_trial(tmp_path: Path) -> None:
    out = io.StringIO()
    render(StudyResults((ACC,), PARAMS, _study().trials[1:2]), tmp_path, out)
    assert "No trial has a final measurement: there is no best trial." in out.getvalue()
    assert "Plot:" not in out.getvalue()
    assert len(read_csv(tmp_path / "trials.csv")) == 1


def test_integer_parameter_axis_has_whole_ticks_and_states_have_a_legend() -> None:
    from vertex_hydra.results.plots import parameter_figure

    depth = ParameterSpec("model.depth", "INTEGER", 1, 3)
    trials = [
        TrialResult("1", "SUCCEEDED", {"model.depth": 1}, {"val/acc": 0.5}),
        TrialResult("2", "STOPPED", {"model.depth": 3}, {"val/acc": 0.4}),
    ]
    fig = parameter_figure(depth, (ACC,), trials)
    fig.canvas.draw()
    (ax,) = fig.axes
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["succeeded", "stopped"]
    assert parameter_figure(depth, (ACC,), trials[:1]).axes[0].get_legend() is None
