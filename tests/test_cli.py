"""The ``vertex-hydra`` command line, called in-process through ``main(argv)``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vertex_hydra._version import __version__
from vertex_hydra.cli import build_parser, main
from vertex_hydra.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "tests" / "apps"
DIGITS_JOB = ROOT / "examples" / "digits" / "job.yaml"
PLAIN_JOB = APPS / "plain_job.yaml"


def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vertex-hydra")
    assert "check    compose the Hydra config of every trial" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"vertex-hydra {__version__}\n"


def test_no_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: vertex-hydra" in capsys.readouterr().err


def test_an_unknown_command_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lcoal", "job.yaml"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'lcoal'" in err
    for command in ("check", "local", "submit", "results", "dashboard"):
        assert f"'{command}'" in err


def test_a_command_imports_only_its_own_module() -> None:
    """``vertex-hydra local`` does not pay for the other commands' imports (its study's start)."""
    code = (
        "import sys\n"
        "from vertex_hydra.cli import main\n"
        "main(['local', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.endswith('._cli')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("usage: vertex-hydra local")
    assert out.splitlines()[-1] == "['vertex_hydra.local._cli']"


def test_check_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vertex-hydra check")
    for option in ("JOB.yaml", "--python", "--timeout", "--jobs", "--json", "--no-color"):
        assert option in out


def test_check_needs_a_job_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "the following arguments are required: JOB.yaml" in capsys.readouterr().err


def test_check_missing_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vertex-hydra check: error: cannot read job file")
    assert "Fix: pass the path" in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--timeout", "0"], r"--timeout must be positive, got 0\. Fix: e\.g\. --timeout 60\."),
        (["--timeout", "nan"], r"--timeout must be positive, got nan\. Fix: e\.g\. --timeout 60\."),
        (["--jobs", "0"], r"--jobs must be at least 1, got 0\. Fix: e\.g\. --jobs 2\."),
    ],
)
def test_check_rejects_bad_options(
    capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    args = build_parser().parse_args(["check", str(PLAIN_JOB), *option])
    with pytest.raises(ConfigurationError, match=message):
        args.func(args)
    assert main(["check", str(PLAIN_JOB), *option]) == 2
    assert capsys.readouterr().err.startswith("vertex-hydra check: error: --")


def test_check_rule_problem_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    raw = yaml.safe_load(PLAIN_JOB.read_text(encoding="utf-8"))
    raw["studySpec"]["metrics"] = []
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["check", str(path), "--no-color"]) == 1
    out = capsys.readouterr().out
    assert "1 problem:\n  1. job file: studySpec.metrics is empty. Fix: add one" in out
    assert "trial configs not composed" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"maxTrialCount": "many"}, "maxTrialCount is the text 'many', not a whole number of trials."),
        ({"trialJobSpec": 5}, "trialJobSpec is the int 5, not a mapping."),
        ({"trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i", "command": "python t.py"}}]}},
         ("containerSpec.command is the text 'python t.py', not a list. Fix: write it as a YAML list, "
          "e.g. [python, t.py].")),
    ],
    ids=["count", "trial-job-spec", "command"],
)  # fmt: skip
def test_check_wrong_types_are_one_sentence_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: dict[str, object], message: str
) -> None:
    raw = yaml.safe_load(PLAIN_JOB.read_text(encoding="utf-8"))
    raw.update(change)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["check", str(path), "--no-color"]) == 1
    captured = capsys.readouterr()
    assert message in captured.out
    assert "trial configs not composed" in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_check_invalid_yaml_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("studySpec: [unclosed\n", encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(line 1, column 12)" in err and "Fix: correct the YAML" in err


@pytest.mark.slow
def test_check_digits_prints_a_table_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DIGITS_JOB), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("parameter "))
    assert lines[header].split() == ["parameter", "config", "key", "tried", "(as", "Vertex", "passes",
                                     "them)", "received", "status"]  # fmt: skip
    table = {line.split()[0]: line for line in lines[header + 2 : header + 7]}
    assert set(table) == {
        "model.optimizer.lr",
        "data.batch_size",
        "model.hidden_layers",
        "model.width",
        "model.activation",
    }
    assert table["model.width"].startswith("model.width (when model.hidden_layers in [2, 3]) ")
    assert "32.0, 64.0, 128.0" in table["data.batch_size"]
    assert "32, 64, 128 (int)" in table["data.batch_size"]
    assert all(line.rstrip().endswith("OK") for line in table.values())
    assert out.rstrip().endswith("OK: every parameter reaches the config as intended.")


@pytest.mark.slow
def test_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(PLAIN_JOB), "--json", "--jobs", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["problems"] == []
    assert data["compositions"] == 4
    assert [r["parameter_id"] for r in data["rows"]] == [
        "model.lr",
        "data.batch_size",
        "model.act",
        "model.depth",
    ]
    assert data["rows"][1]["received"] == [16, 32, 64]


@pytest.mark.slow
def test_check_problem_exits_1_and_names_the_parameter(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = yaml.safe_load(PLAIN_JOB.read_text(encoding="utf-8"))
    raw["studySpec"]["parameters"][1]["parameterId"] = "data.batch_sz"
    raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["command"] = [
        "python",
        str(APPS / "plain_app.py"),
    ]
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["check", str(path), "--no-color", "--python", sys.executable]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("data.batch_sz "))
    assert row.rstrip().endswith("key missing; did you mean data.batch_size?")
    assert "  1. data.batch_sz: the trial config has no key 'data.batch_sz'" in out


@pytest.mark.slow
def test_python_m_vertex_hydra_check() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "check", str(PLAIN_JOB)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "OK: every parameter reaches the config as intended." in done.stdout


def test_the_program_leaves_with_the_status_and_every_line_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``console_main`` skips the interpreter's teardown, but not the flush: a pipe gets all."""
    help_text = subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "check", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert help_text.returncode == 0
    assert main(["check", "--help"]) == 0
    assert help_text.stdout == capsys.readouterr().out
    missing = subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "check", str(tmp_path / "nope.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.startswith("vertex-hydra check: error: ")
    assert missing.stderr.endswith("\n") and "nope.yaml" in missing.stderr


def test_a_profiler_still_gets_its_file(tmp_path: Path) -> None:
    """Under a profiler or tracer the normal exit runs, so cProfile writes its output."""
    out = tmp_path / "prof.out"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "vertex_hydra", "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"vertex-hydra {__version__}\n"
    assert out.stat().st_size > 0
