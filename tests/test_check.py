"""``vertex-hydra check``: pure helpers, then real Hydra apps composed in subprocesses.

The fixture apps in ``tests/apps`` are plain Hydra apps (no torch) so that each
composition starts in a fraction of a second; the digits example is the real one.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vertex_hydra._table import layout_table, use_color
from vertex_hydra.check import CheckResult, ParameterRow, check_job, flatten_keys, suggest_keys
from vertex_hydra.check._cli import format_received, format_report
from vertex_hydra.check._probe import (
    compose_argv,
    error_keys,
    essential_error,
    parse_config,
    run_compositions,
)
from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import load_job

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "tests" / "apps"
DIGITS_JOB = ROOT / "examples" / "digits" / "job.yaml"

LR = {"parameterId": "model.lr", "scaleType": "UNIT_LOG_SCALE",
      "doubleValueSpec": {"minValue": 1e-5, "maxValue": 0.1}}  # fmt: skip
BATCH = {"parameterId": "data.batch_size", "discreteValueSpec": {"values": [16, 32, 64]}}
ACT = {"parameterId": "model.act", "categoricalValueSpec": {"values": ["relu", "gelu"]}}
DEPTH = {"parameterId": "model.depth", "integerValueSpec": {"minValue": 1, "maxValue": 4}}


def write_job(folder: Path, app: str, parameters: list[dict[str, Any]], **top: Any) -> Path:
    """A job file in ``folder`` whose trial runs ``tests/apps/<app>``."""
    raw = {
        "maxTrialCount": 4,
        "studySpec": {"metrics": [{"metricId": "val_loss", "goal": "MINIMIZE"}], "parameters": parameters},
        "trialJobSpec": {"workerPoolSpecs": [{
            "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": 1,
            "containerSpec": {"imageUri": "img", "command": ["python", str(APPS / app)]},
        }]},
        **top,
    }  # fmt: skip
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def row(result: CheckResult, parameter_id: str) -> Any:
    return next(r for r in result.rows if r.parameter_id == parameter_id)


def raise_problem(result: CheckResult, subject: str) -> None:
    """Raise the problem about ``subject`` so that ``pytest.raises(match=...)`` can judge its text."""
    messages = [p.message for p in result.problems if p.subject == subject]
    assert messages, f"no problem about {subject!r} in {result.problems}"
    raise ConfigurationError(" | ".join(messages))


# --- pure helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "config"),
    [
        ("data:\n  batch_size: 64\n", {"data": {"batch_size": 64}}),
        ("loading plain_app: ready\nUsing device: cpu\n[INFO] x: y\nmodel:\n  lr: 1.0e-05\n",
         {"model": {"lr": 1e-05}}),
        ("Seed set to 0\nmodel:\n  act: gelu new\n  n: '64'\n", {"model": {"act": "gelu new", "n": "64"}}),
        ("data: loaded\ndata:\n  x: 1\n", {"data": {"x": 1}}),  # duplicate key: the later start wins
        ("{}\n", {}),
        ("nothing printed as YAML\n", None),
        ("a: [1, 2\n", None),
        ("", None),
    ],
)  # fmt: skip
def test_parse_config_skips_what_the_app_printed(stdout: str, config: Any) -> None:
    assert parse_config(stdout) == config


HYDRA_MISSING_KEY = """Could not override 'data.batch_sz'.
To append to your config use +data.batch_sz=64
Key 'batch_sz' is not in struct
    full_key: data.batch_sz
    object_type=dict

Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.
"""
HYDRA_ENUM = """Error merging override model.act=swish
Invalid value 'swish', expected one of [RELU, GELU]
    full_key: model.act
    reference_type=ModelConfig
    object_type=ModelConfig

Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.
"""
HYDRA_GROUP = """In 'train': Could not find 'model/cnn'

Available options in 'model':
\tmlp
Config search path:
\tprovider=hydra, path=pkg://hydra.conf
"""
TRACEBACK = """Traceback (most recent call last):
  File "train.py", line 3, in <module>
    import missing_module
ModuleNotFoundError: No module named 'missing_module'
"""


@pytest.mark.parametrize(
    ("stderr", "essential", "keys"),
    [
        (HYDRA_MISSING_KEY,
         ("Could not override 'data.batch_sz'. To append to your config use +data.batch_sz=64 "
          "Key 'batch_sz' is not in struct"), ["data.batch_sz"]),
        (HYDRA_ENUM, "Invalid value 'swish', expected one of [RELU, GELU]", ["model.act"]),
        (HYDRA_GROUP, "In 'train': Could not find 'model/cnn' Available options in 'model': mlp", ["model"]),
        (TRACEBACK, "ModuleNotFoundError: No module named 'missing_module'", []),
        ("", "(nothing on stderr)", []),
    ],
)  # fmt: skip
def test_essential_error_and_error_keys(stderr: str, essential: str, keys: list[str]) -> None:
    assert essential_error(stderr) == essential
    assert error_keys(stderr) == keys


def test_essential_error_is_bounded() -> None:
    assert len(essential_error("x" * 1000, max_chars=50)) == 53


@pytest.mark.parametrize(
    ("key", "suggestions"),
    [
        ("data.batch_sz", ["data.batch_size"]),
        ("batch_size", ["data.batch_size"]),
        ("lr", ["model.lr"]),
        ("completely.unrelated", []),
    ],
)
def test_suggest_keys(key: str, suggestions: list[str]) -> None:
    existing = ["data", "data.batch_size", "data.num_workers", "model", "model.lr", "model.act"]
    assert suggest_keys(key, existing) == suggestions


def test_flatten_keys() -> None:
    assert flatten_keys({"a": {"b": {"c": 1}}, "d": [1]}) == ["a", "a.b", "a.b.c", "d"]


def test_format_table_aligns_and_colours_without_misaligning() -> None:
    plain = layout_table(["p", "status"], [["lr", "OK"], ["batch_size", "bad\nworse"]])
    assert plain.splitlines() == [
        "p           status",
        "----------  ------",
        "lr          OK",
        "batch_size  bad",
        "            worse",
    ]
    coloured = layout_table(["p", "s"], [["lr", "OK"]], colors=[[None, "green"]])
    assert coloured.splitlines()[2] == "lr  \x1b[32mOK\x1b[0m"


def test_format_table_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match=r"row 1 has 1 cells, expected 2 .*Fix: pad or trim"):
        layout_table(["a", "b"], [["1", "2"], ["3"]])
    with pytest.raises(ValueError, match=r"colors must have the shape of rows"):
        layout_table(["a", "b"], [["1", "2"]], colors=[[None]])


def test_format_received() -> None:
    assert format_received((16, 64.0, None)) == "16, 64.0, - (int/float)"
    assert format_received((None, None)) == "-, -"


def test_probe_argv_is_vertex_argv_then_cfg_job(tmp_path: Path) -> None:
    job = load_job(write_job(tmp_path, "plain_app.py", [LR, BATCH, ACT, DEPTH]))
    argv = compose_argv(job, {"model.lr": 1e-05, "data.batch_size": 16, "model.act": "relu",
                              "model.depth": 4}, "PY")  # fmt: skip
    assert argv == [
        "PY", str(APPS / "plain_app.py"),
        "--model.lr=1e-05", "--data.batch_size=16.0", "--model.act=relu", "--model.depth=4.0",
        "--cfg", "job",
    ]  # fmt: skip


# --- rules stop before composing (no subprocess) ------------------------------------------


def test_rule_problems_are_reported_without_composing(tmp_path: Path) -> None:
    bad = dict(LR, doubleValueSpec={"minValue": 0.1, "maxValue": 0.01})
    result = check_job(write_job(tmp_path, "plain_app.py", [bad]))
    assert not result.ok and result.rows == () and result.runs == 0
    assert "trial configs not composed" in result.notes[0]
    with pytest.raises(
        ConfigurationError, match=r"\(model\.lr\): minValue 0\.1 must be less than maxValue 0\.01"
    ):
        raise_problem(result, "job file")


def test_check_job_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot read job file .*missing\.yaml"):
        check_job(tmp_path / "missing.yaml")


# --- real compositions ---------------------------------------------------------------------


@pytest.mark.slow
def test_check_passes_on_the_digits_example() -> None:
    result = check_job(DIGITS_JOB)
    assert result.ok, result.problems
    assert (
        result.compositions == 4 and result.runs == 4
    )  # 1 baseline + 3 discrete/categorical values
    assert [r.status for r in result.rows] == ["OK"] * 5
    width = row(result, "model.width")  # a child: probed only with 2 or 3 hidden layers
    assert width.label == "model.width (when model.hidden_layers in [2, 3])"
    assert width.received == (64, 128)
    batch = row(result, "data.batch_size")
    assert batch.tried == ("32.0", "64.0", "128.0") and batch.received == (32, 64, 128)
    assert row(result, "model.activation").received == ("relu", "gelu", "tanh")
    assert "OK: every parameter reaches the config" in format_report(result)


@pytest.mark.slow
def test_the_app_receives_the_probe_argv_byte_for_byte(tmp_path: Path) -> None:
    job = load_job(write_job(tmp_path, "plain_app.py", [LR, BATCH, ACT, DEPTH]))
    params: dict[str, float | str] = {
        "model.lr": 0.1,
        "data.batch_size": 64,
        "model.act": "gelu",
        "model.depth": 1,
    }
    (composition,) = run_compositions(job, [params], python=sys.executable)
    assert composition.ok, composition.stderr
    assert composition.trace is not None
    # What @vertex_compatible saw in sys.argv[1:], recorded inside the app's own process:
    assert composition.trace["argv"] == [
        "--model.lr=0.1", "--data.batch_size=64.0", "--model.act=gelu", "--model.depth=1.0", "--cfg", "job",
    ]  # fmt: skip
    assert composition.config is not None
    assert composition.config["data"]["batch_size"] == 64


@pytest.mark.slow
def test_plain_app_passes_and_skips_its_own_output(tmp_path: Path) -> None:
    result = check_job(write_job(tmp_path, "plain_app.py", [LR, BATCH, ACT, DEPTH]))
    assert result.ok, result.problems
    assert row(result, "model.lr").received == (1e-05, 0.1)
    assert row(result, "model.depth").received == (1, 4)
    assert row(result, "data.batch_size").default == 32


@pytest.mark.slow
def test_misspelt_field_gets_gcloud_message_and_compositions_still_run(tmp_path: Path) -> None:
    result = check_job(write_job(tmp_path, "plain_app.py", [BATCH], maxTrialCnt=4))
    assert [r.status for r in result.rows] == ["OK"]
    with pytest.raises(ConfigurationError, match=(
        r'Message type "google\.cloud\.aiplatform\.v1\.HyperparameterTuningJob" has no field named '
        r"\"maxTrialCnt\" at \"HyperparameterTuningJob\"\. Fix: did you mean 'maxTrialCount'\?"
    )):  # fmt: skip
        raise_problem(result, "job file")


@pytest.mark.slow
def test_unknown_parameter_id_suggests_the_closest_key(tmp_path: Path) -> None:
    misspelt = dict(BATCH, parameterId="data.batch_sz")
    result = check_job(write_job(tmp_path, "plain_app.py", [LR, misspelt]))
    assert row(result, "data.batch_sz").status == "key missing; did you mean data.batch_size?"
    assert row(result, "model.lr").status == "OK"  # one mistake does not hide the others
    with pytest.raises(ConfigurationError, match=(
        r"the trial config has no key 'data\.batch_sz', so Hydra rejects --data\.batch_sz=16\.0 .*"
        r"Fix: did you mean 'data\.batch_size'\? .*rename=\{'data\.batch_sz': 'data\.batch_size'\}"
    )):  # fmt: skip
        raise_problem(result, "data.batch_sz")


@pytest.mark.slow
def test_value_the_config_type_rejects(tmp_path: Path) -> None:
    fractional_depth = {
        "parameterId": "model.depth",
        "doubleValueSpec": {"minValue": 0.5, "maxValue": 4},
    }
    result = check_job(write_job(tmp_path, "typed_app.py", [fractional_depth, BATCH]))
    depth = row(result, "model.depth")
    # A DOUBLE stays a float even at 4.0 (study types), so the int field rejects both values.
    assert depth.received == (None, None)
    assert depth.status.startswith("rejected: Value '0.5' of type 'float'")
    assert row(result, "data.batch_size").status == "OK"
    with pytest.raises(ConfigurationError, match=(
        r"Hydra rejects --model\.depth=0\.5 for key 'model\.depth': Value '0\.5' of type 'float' "
        r"could not be converted to Integer\. Fix: change the values tried"
    )):  # fmt: skip
        raise_problem(result, "model.depth")


@pytest.mark.slow
def test_category_the_enum_rejects(tmp_path: Path) -> None:
    act = {
        "parameterId": "model.act",
        "categoricalValueSpec": {"values": ["RELU", "swish", "GELU"]},
    }
    result = check_job(write_job(tmp_path, "typed_app.py", [act, BATCH]))
    assert row(result, "model.act").received == ("RELU", None, "GELU")
    with pytest.raises(ConfigurationError, match=(
        r"Hydra rejects --model\.act=swish for key 'model\.act': "
        r"Invalid value 'swish', expected one of \[RELU, GELU\]"
    )):  # fmt: skip
        raise_problem(result, "model.act")


@pytest.mark.slow
def test_integer_field_receiving_a_float_when_coercion_is_off(tmp_path: Path) -> None:
    # check gives the trial the study's types, and they win over the app's text rule.
    result = check_job(write_job(tmp_path, "nocoerce_app.py", [BATCH, LR]))
    assert row(result, "data.batch_size").received == (16, 32, 64)
    assert row(result, "data.batch_size").status == "OK"
    assert row(result, "model.lr").status == "OK"


@pytest.mark.slow
def test_double_parameter_on_an_int_field(tmp_path: Path) -> None:
    depth = {"parameterId": "model.depth", "doubleValueSpec": {"minValue": 0.5, "maxValue": 4}}
    result = check_job(write_job(tmp_path, "plain_app.py", [depth]))
    with pytest.raises(ConfigurationError, match=(
        r"received 0\.5 \(float\) but its default 2 is an int: a DOUBLE parameter sends fractional "
        r"values.*Fix: use integerValueSpec"
    )):  # fmt: skip
        raise_problem(result, "model.depth")


@pytest.mark.slow
def test_app_rename_is_honoured(tmp_path: Path) -> None:
    short = dict(LR, parameterId="lr")
    result = check_job(write_job(tmp_path, "renamed_app.py", [short]))
    assert result.ok, result.problems
    assert row(result, "lr").key == "model.lr"
    assert row(result, "lr").received == (1e-05, 0.1)


@pytest.mark.slow
def test_parameter_id_that_is_no_hydra_key(tmp_path: Path) -> None:
    result = check_job(write_job(tmp_path, "plain_app.py", [dict(LR, parameterId="x,y"), BATCH]))
    assert row(result, "x,y").status == "bad parameter id"
    assert row(result, "data.batch_size").status == "OK"
    with pytest.raises(
        ConfigurationError,
        match=r"argument '--x,y=1e-05': parameter id 'x,y' is not a valid Hydra key",
    ):
        raise_problem(result, "x,y")


@pytest.mark.slow
def test_missing_config_group_option(tmp_path: Path) -> None:
    model = {"parameterId": "model", "categoricalValueSpec": {"values": ["mlp", "cnn"]}}
    path = tmp_path / "job.yaml"
    raw = yaml.safe_load(DIGITS_JOB.read_text(encoding="utf-8"))
    raw["studySpec"]["parameters"] = [model]
    raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["command"] = [
        "python",
        str(DIGITS_JOB.parent / "train.py"),
    ]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = check_job(path)
    with pytest.raises(ConfigurationError, match=(
        r"Hydra has no config model/cnn for --model=cnn: .*Available options in 'model': mlp\. "
        r"Fix: try only the available options"
    )):  # fmt: skip
        raise_problem(result, "model")


@pytest.mark.slow
def test_parameter_on_a_config_node(tmp_path: Path) -> None:
    # `model` is a plain node (lr, depth, act), not a config group: Hydra lets a value replace it.
    node = {"parameterId": "model", "categoricalValueSpec": {"values": ["small", "large"]}}
    result = check_job(write_job(tmp_path, "plain_app.py", [node, LR]))
    assert row(result, "model").received == ("small", "large")
    assert row(result, "model").status == "replaces a config node"
    assert row(result, "model.lr").status == "removed by model"
    assert [p.subject for p in result.problems] == ["model", "model.lr"]
    with pytest.raises(ConfigurationError, match=(
        r"'model' is a config node \(lr, depth, act\), and --model=small replaces all of it with 'small', "
        r"so code that reads model\.<name> fails\. Fix: point the parameterId at the key to tune inside it, "
        r"e\.g\. 'model\.lr'; or, to choose between whole nodes, make 'model' a config group"
    )):  # fmt: skip
        raise_problem(result, "model")
    with pytest.raises(ConfigurationError, match=(
        r"--model\.lr=1e-05 is lost: model replaces the node above 'model\.lr' in the same trial, "
        r"so the config has no 'model\.lr'\. Fix: tune 'model\.lr' or 'model', not both"
    )):  # fmt: skip
        raise_problem(result, "model.lr")


@pytest.mark.slow
def test_python_package_spec_runs_python_m_module(tmp_path: Path) -> None:
    # The package Vertex would install, here importable from the job file's folder.
    package = tmp_path / "trainer"
    shutil.copytree(APPS / "conf", package / "conf")
    (package / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(APPS / "plain_app.py", package / "task.py")
    path = write_job(tmp_path, "plain_app.py", [BATCH, dict(BATCH, parameterId="data.batch_sz")])
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["trialJobSpec"]["workerPoolSpecs"][0] = {"pythonPackageSpec": {
        "executorImageUri": "us-docker.pkg.dev/vertex-ai/training/pytorch-cpu.2-2:latest",
        "packageUris": ["gs://bucket/trainer-0.1.tar.gz"], "pythonModule": "trainer.task",
        "args": ["trainer.max_epochs=3"]}}  # fmt: skip
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = check_job(path)
    assert result.command == (sys.executable, "-m", "trainer.task", "trainer.max_epochs=3")
    assert row(result, "data.batch_size").status == "OK"
    assert row(result, "data.batch_size").received == (16, 32, 64)
    assert row(result, "data.batch_sz").status == "key missing; did you mean data.batch_size?"


@pytest.mark.slow
def test_app_without_the_decorator(tmp_path: Path) -> None:
    result = check_job(write_job(tmp_path, "undecorated_app.py", [BATCH]))
    assert [r.status for r in result.rows] == ["not checked"]
    with pytest.raises(ConfigurationError, match=(
        r"undecorated_app\.py --cfg job did not go through @vertex_compatible .*"
        r"Fix: decorate the app: 'from vertex_hydra import vertex_compatible', then put "
        r"@vertex_compatible directly above @hydra\.main"
    )):  # fmt: skip
        raise_problem(result, "trial command")


@pytest.mark.slow
def test_trial_command_that_fails_on_its_own(tmp_path: Path) -> None:
    result = check_job(write_job(tmp_path, "no_such_app.py", [BATCH]))
    with pytest.raises(ConfigurationError, match=(
        r"no_such_app\.py --cfg job fails without any tuned parameter \(exit 2\): .*"
        r"can't open file .*Fix: make the trial command run on its own"
    )):  # fmt: skip
        raise_problem(result, "trial command")


@pytest.mark.slow
def test_composition_timeout(tmp_path: Path) -> None:
    result = check_job(write_job(tmp_path, "sleepy_app.py", [BATCH]), timeout=0.5)
    assert result.seconds < 10
    with pytest.raises(
        ConfigurationError,
        match=r"sleepy_app\.py --cfg job \(no tuned parameter\) took over 0\.5 s\. Fix: raise --timeout",
    ):
        raise_problem(result, "trial command")


@pytest.mark.slow
def test_several_mistakes_in_one_job_are_all_found(tmp_path: Path) -> None:
    parameters = [
        dict(BATCH, parameterId="data.batch_sz"),
        {"parameterId": "model.act", "categoricalValueSpec": {"values": ["RELU", "swish"]}},
        {"parameterId": "model.depth", "doubleValueSpec": {"minValue": 0.5, "maxValue": 4}},
        dict(LR, parameterId="lr"),
        BATCH,
    ]
    result = check_job(write_job(tmp_path, "typed_app.py", parameters))
    statuses = {r.parameter_id: r.status for r in result.rows}
    assert statuses["data.batch_sz"] == "key missing; did you mean data.batch_size?"
    assert statuses["model.act"].startswith("rejected: Invalid value 'swish'")
    assert statuses["model.depth"].startswith("rejected: Value '0.5'")
    assert statuses["lr"] == "key missing; did you mean model.lr?"
    assert statuses["data.batch_size"] == "OK"
    assert [p.subject for p in result.problems] == [
        "data.batch_sz",
        "model.act",
        "model.depth",
        "lr",
    ]
    text = format_report(result)
    assert re.search(r"^4 problems:$", text, re.MULTILINE)
    assert "  4. lr: the trial config has no key 'lr'" in text


@pytest.mark.slow
def test_double_with_integral_bounds_is_also_probed_between_them(tmp_path: Path) -> None:
    # A DOUBLE stays a float (study types), at its bounds as between them.
    depth = {"parameterId": "model.depth", "doubleValueSpec": {"minValue": 1, "maxValue": 4}}
    result = check_job(write_job(tmp_path, "plain_app.py", [depth]))
    assert row(result, "model.depth").tried == ("1.0", "2.5", "4.0")
    assert row(result, "model.depth").received == (1.0, 2.5, 4.0)
    assert [type(v) for v in row(result, "model.depth").received] == [float] * 3
    with pytest.raises(
        ConfigurationError, match=r"received 1\.0 \(float\) but its default 2 is an int"
    ):
        raise_problem(result, "model.depth")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(_Terminal()) is True
    assert use_color(io.StringIO()) is False
    assert use_color(_Terminal(), disabled=True) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(_Terminal()) is False


@pytest.mark.slow
def test_green_table_and_note_without_the_cloud_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.aiplatform_v1", None)
    result = check_job(write_job(tmp_path, "plain_app.py", [BATCH], maxTrialCnt=4))
    assert result.ok and not result.schema_checked
    text = format_report(result, color=True)
    assert (
        "schema not checked: google-cloud-aiplatform is not installed (pip install 'vertex-hydra[cloud]')"
        in text
    )
    assert "\x1b[32mOK\x1b[0m" in text and "\x1b[31m" not in text


@pytest.mark.slow
def test_check_shows_what_the_typed_trial_receives() -> None:
    result = check_job(APPS / "study_job.yaml")
    rows = {row.parameter_id: row for row in result.rows}
    limit = rows["trainer.limit_train_batches"]
    assert limit.ok and limit.received == (0.5, 1.0)
    assert [type(v) for v in limit.received] == [float, float]  # 1.0 is not int 1
    assert rows["tag"].received == ("base", "007", True)  # '007' stays text
    assert rows["tag"].status == "str field got True"
    assert rows["tag"].problem is not None and "Fix: rename the category" in rows["tag"].problem
    assert rows["data.batch_size"].ok and rows["data.batch_size"].received == (16, 64)
    epochs = rows["trainer.max_epochs"]
    assert epochs.status == "int field got float 1.0"  # a DOUBLE whose field is an int
    assert [p.subject for p in result.problems] == ["tag", "trainer.max_epochs"]
    [entry] = result.to_dict()["env"]
    assert entry["name"] == "VERTEX_HYDRA_STUDY"
    assert json.loads(entry["value"])["parameters"]["tag"] == {"type": "CATEGORICAL"}
    report = format_report(result)
    assert "- name: VERTEX_HYDRA_STUDY" in report and "OK: every parameter" not in report


def test_a_wrong_goal_is_reported_once(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    text = (APPS / "plain_job.yaml").read_text(encoding="utf-8")
    job.write_text(text.replace("goal: MINIMIZE", "goal: MAX"), encoding="utf-8")
    result = check_job(job)
    assert [str(p) for p in result.problems] == [
        "job file: studySpec.metrics[0].goal is 'MAX'. Fix: set goal to MAXIMIZE or MINIMIZE."
    ]


def test_no_all_ok_sentence_when_something_was_not_probed() -> None:
    row = ParameterRow("lr", "model.lr", ("0.1", "1.0"), (0.1, None), 0.5, "OK")
    result = CheckResult(Path("job.yaml"), schema_checked=True, rows=(row,))
    assert result.ok and not result.fully_probed
    report = format_report(result)
    assert "OK: every parameter" not in report
    assert report.endswith(
        "No problem found, but not everything was probed: not probed: lr (see the notes above)."
    )
    assert result.to_dict()["unprobed"] == ["lr"]
    unchecked = CheckResult(
        Path("job.yaml"),
        schema_checked=False,
        rows=(dataclasses.replace(row, received=(0.1, 1.0)),),
    )
    assert format_report(unchecked).endswith(
        "No problem found, but not everything was probed: the schema was not checked "
        "(see the notes above)."
    )


def test_check_names_each_unrehearsed_field_once_in_the_report_and_the_json(
    tmp_path: Path,
) -> None:
    job = write_job(tmp_path, "plain_app.py", [LR], labels={"team": "vision"})
    raw = yaml.safe_load(job.read_text(encoding="utf-8"))
    raw["studySpec"]["decayCurveStoppingSpec"] = {}
    raw["trialJobSpec"]["scheduling"] = {"timeout": "600s", "restartJobOnWorkerRestart": True}
    raw["trialJobSpec"]["network"] = "projects/1/global/networks/default"
    job.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = check_job(job)
    assert result.ok and result.fully_probed, result.problems
    unrehearsed = [
        "labels",
        "studySpec.decayCurveStoppingSpec",
        "trialJobSpec.network",
        "trialJobSpec.scheduling.restartJobOnWorkerRestart",
        "trialJobSpec.workerPoolSpecs[0].machineSpec.machineType",
    ]
    assert [u["path"] for u in result.to_dict()["unrehearsed"]] == unrehearsed
    report = format_report(result)
    lines = [line for line in report.splitlines() if "not rehearsed here:" in line]
    assert lines == [f"  note      {u.line()}" for u in result.unrehearsed]
    assert lines[1] == (
        "  note      not rehearsed here: studySpec.decayCurveStoppingSpec — its Gaussian-process "
        "model is not published, so local applies no rule for it"
    )
    assert report.endswith(
        "5 fields of the job file are not rehearsed here (see the notes above).\n"
        "OK: every parameter reaches the config as intended."
    )


# --- several worker pools (issue 12) ---------------------------------------------------------

MULTINODE_JOB = ROOT / "examples" / "digits" / "job-multinode.yaml"


def multinode_copy(folder: Path, edit: Any) -> Path:
    """A copy of the digits multinode job, changed by ``edit(raw)``, run in the digits folder."""
    raw = yaml.safe_load(MULTINODE_JOB.read_text(encoding="utf-8"))
    edit(raw)
    for pool in raw["trialJobSpec"]["workerPoolSpecs"]:
        spec = pool.get("containerSpec") or {}
        spec["command"] = [
            str(MULTINODE_JOB.parent / c) if c.endswith(".py") else c
            for c in spec.get("command") or []
        ]
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_num_nodes_problem_only_when_the_key_is_there() -> None:
    from vertex_hydra.check._pools import num_nodes_problem

    assert num_nodes_problem({"trainer": {"num_nodes": 2}}, (1, 1)) is None
    assert num_nodes_problem({"trainer": {"max_epochs": 2}}, (1, 1)) is None
    assert num_nodes_problem({"trainer": {"num_nodes": "${nodes}"}}, (1, 1)) is None
    assert num_nodes_problem(None, (1, 1)) is None
    problem = num_nodes_problem({"trainer": {"num_nodes": 2}}, (1,))
    with pytest.raises(ConfigurationError, match=r"num_nodes=2, but the trial runs 1 replicas"):
        raise ConfigurationError(problem.message if problem else "")


@pytest.mark.slow
def test_the_multinode_example_composes_as_chief_and_worker() -> None:
    result = check_job(MULTINODE_JOB)
    assert result.ok, result.problems
    assert [(p.name, p.replicas, p.composed) for p in result.pools] == [
        ("workerpool0", 1, True),
        ("workerpool1", 1, True),
    ]
    assert result.runs == result.compositions + 1  # the worker's baseline
    pools = result.to_dict()["pools"]
    assert pools == [
        {"pool": 0, "name": "workerpool0", "replicas": 1, "composed": True},
        {"pool": 1, "name": "workerpool1", "replicas": 1, "composed": True},
    ]
    report = format_report(result)
    assert "  pools     workerpool0 x1, workerpool1 x1" in report
    assert "composed as the chief and as a worker" in report


@pytest.mark.slow
def test_two_replicas_in_pool_0_are_refused(tmp_path: Path) -> None:
    def edit(raw: Any) -> None:
        raw["trialJobSpec"]["workerPoolSpecs"][0]["replicaCount"] = 2

    result = check_job(multinode_copy(tmp_path, edit))
    assert not result.ok
    with pytest.raises(
        ConfigurationError,
        match=r"workerPoolSpecs\[0\]\.replicaCount is 2, but pool 0 holds the trial's one chief\. "
        r"Fix: set replicaCount: 1",
    ):
        raise_problem(result, "trialJobSpec.workerPoolSpecs[0]")
    # 3 replicas in all, the config says 2: flagged as well.
    with pytest.raises(ConfigurationError, match=r"num_nodes=2, but the trial runs 3 replicas"):
        raise_problem(result, "trainer.num_nodes")


@pytest.mark.slow
def test_a_worker_pool_without_a_command_is_refused(tmp_path: Path) -> None:
    def edit(raw: Any) -> None:
        raw["trialJobSpec"]["workerPoolSpecs"][1]["containerSpec"]["command"] = []

    result = check_job(multinode_copy(tmp_path, edit))
    assert not result.ok
    assert [p.composed for p in result.pools] == [True, None]
    with pytest.raises(
        ConfigurationError,
        match=r"workerPoolSpecs\[1\]\.containerSpec\.command is empty.*Fix: set workerPoolSpecs\[1\]",
    ):
        raise_problem(result, "trialJobSpec.workerPoolSpecs[1]")


@pytest.mark.slow
def test_a_worker_that_does_not_compose_is_a_problem(tmp_path: Path) -> None:
    def edit(raw: Any) -> None:
        raw["trialJobSpec"]["workerPoolSpecs"][1]["containerSpec"]["args"] = ["trainer=nope"]

    result = check_job(multinode_copy(tmp_path, edit))
    assert [p.composed for p in result.pools] == [True, False]
    with pytest.raises(
        ConfigurationError,
        match=r"a worker's config does not compose: .*trainer=nope --cfg job \(workerpool1 "
        r"replica 0, with its CLUSTER_SPEC\) fails \(exit 1\).*Fix: make "
        r"trialJobSpec\.workerPoolSpecs\[1\]'s containerSpec",
    ):
        raise_problem(result, "trialJobSpec.workerPoolSpecs[1]")


@pytest.mark.slow
def test_num_nodes_that_does_not_match_the_replicas_is_flagged(tmp_path: Path) -> None:
    def edit(raw: Any) -> None:
        for pool in raw["trialJobSpec"]["workerPoolSpecs"]:
            pool["containerSpec"]["args"].append("trainer.num_nodes=1")

    result = check_job(multinode_copy(tmp_path, edit))
    assert not result.ok and [p.composed for p in result.pools] == [True, True]
    with pytest.raises(
        ConfigurationError,
        match=r"^the chief's config has trainer\.num_nodes=1, but the trial runs 2 replicas \(1 in "
        r"workerPoolSpecs\[0\] \+ 1 in workerPoolSpecs\[1\]\).*Fix: set trainer\.num_nodes=2",
    ):
        raise_problem(result, "trainer.num_nodes")


@pytest.mark.slow
def test_pools_2_and_3_get_a_note_not_a_problem(tmp_path: Path) -> None:
    def edit(raw: Any) -> None:
        pools = raw["trialJobSpec"]["workerPoolSpecs"]
        pools.append(dict(pools[1], replicaCount=1))

    result = check_job(multinode_copy(tmp_path, edit))
    assert result.ok, result.problems
    assert [p.composed for p in result.pools] == [True, True, None]
    assert [n for n in result.notes if "workerPoolSpecs[2]" in n] == [
        "not rehearsed here: trialJobSpec.workerPoolSpecs[2] — parameter servers / Reduction "
        "Server: only pools 0 and 1 run and are composed",
    ]
    assert result.to_dict()["unrehearsed"][-1] == {
        "path": "trialJobSpec.workerPoolSpecs[2]",
        "reason": "parameter servers / Reduction Server: only pools 0 and 1 run and are composed",
    }
    assert "  pools     workerpool0 x1, workerpool1 x1, workerpool2 x1" in format_report(result)


def test_pool_0_without_its_chief_is_refused_without_composing(tmp_path: Path) -> None:
    from vertex_hydra.check._pools import pool_problems

    def edit(raw: Any) -> None:
        raw["trialJobSpec"]["workerPoolSpecs"][0]["replicaCount"] = 0

    problems = pool_problems(load_job(multinode_copy(tmp_path, edit)))
    with pytest.raises(
        ConfigurationError,
        match=r"^trialJobSpec\.workerPoolSpecs\[0\]\.replicaCount is 0, but pool 0 holds the "
        r"trial's one chief\. Fix: set replicaCount: 1 in pool 0\.$",
    ):
        raise ConfigurationError(" | ".join(p.message for p in problems))


# --- imageUri: the container image reference grammar ----------------------------------------

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("us-central1-docker.pkg.dev/my-proj/repo/img:v1", None),
        (f"gcr.io/p/i@{DIGEST}", None),
        (f"gcr.io/p/i:v1@{DIGEST}", None),
        ("localhost:5000/a/b", None),
        ("img", None),
        ("eu.gcr.io/p/a__b.c-d--e:1.0_rc-1", None),
        ("gcr.io/p/Img:v1", "'gcr.io/p/Img:v1' has the path component 'Img', which must be lowercase"),
        ("REGION-docker.pkg.dev/PROJECT/REPO/digits:latest",
         "'REGION-docker.pkg.dev/PROJECT/REPO/digits:latest' has the path component 'PROJECT', "
         "which must be lowercase"),
        ("", "the image reference is empty"),
        ("gcr.io/p/", "'gcr.io/p/' has an empty path component (a leading, trailing or double '/')"),
        ("gcr.io//i", "'gcr.io//i' has an empty path component (a leading, trailing or double '/')"),
        ("gcr.io/p/i:-v1", "'gcr.io/p/i:-v1' has the tag '-v1', which must be up to 128 letters, "
                           "digits, '_', '.' or '-', not starting with '.' or '-'"),
        ("gcr.io/p/i:" + "a" * 129,
         f"'gcr.io/p/i:{'a' * 129}' has the tag '{'a' * 129}', which must be up to 128 letters, "
         "digits, '_', '.' or '-', not starting with '.' or '-'"),
        ("gcr.io/p/i@sha256:abc",
         "'gcr.io/p/i@sha256:abc' has the digest 'sha256:abc', which must look like "
         "sha256:<64 hex digits>"),
        ("gcr.io/p/a-", "'gcr.io/p/a-' has the path component 'a-', which must be lowercase "
                        "letters and digits, separated by '.', '_', '__' or dashes"),
        (" gcr.io/p/i", "' gcr.io/p/i' has spaces around it"),
    ],
)  # fmt: skip
def test_image_problem(uri: str, problem: str | None) -> None:
    from vertex_hydra.jobspec._image import image_problem

    assert image_problem(uri) == problem


PLACEHOLDER_WARNING = (
    "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri is the placeholder "
    "'REGION-docker.pkg.dev/PROJECT/REPO/digits:latest', not an image. Fix: replace it with your "
    "image, e.g. us-central1-docker.pkg.dev/my-project/my-repo/digits:latest, or pass --image to "
    "'vertex-hydra submit'."
)


def test_a_placeholder_image_is_a_warning_and_check_still_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from vertex_hydra.cli import main

    assert main(["check", str(DIGITS_JOB), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert out.count("imageUri") == 1
    assert f"  warning   {PLACEHOLDER_WARNING}\n" in out
    assert main(["check", str(DIGITS_JOB), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ok"] is True and shown["problems"] == []
    assert shown["warnings"] == [{
        "subject": "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri",
        "message": PLACEHOLDER_WARNING,
    }]  # fmt: skip


def test_a_malformed_image_is_a_problem_of_its_pool(tmp_path: Path) -> None:
    raw = yaml.safe_load((APPS / "plain_job.yaml").read_text(encoding="utf-8"))
    raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["imageUri"] = "gcr.io/p/plain:"
    raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["command"] = [
        "python", str(APPS / "plain_app.py")]  # fmt: skip
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = check_job(job)
    assert result.warnings == ()
    assert [str(p) for p in result.problems] == [
        "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri: "
        "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri is no container image "
        "reference: 'gcr.io/p/plain:' has the tag '', which must be up to 128 letters, digits, "
        "'_', '.' or '-', not starting with '.' or '-'. Fix: correct it, e.g. "
        "us-central1-docker.pkg.dev/my-project/my-repo/plain:latest, or pass --image to "
        "'vertex-hydra submit'."
    ]
    assert [r.status for r in result.rows] == ["OK"] * 4  # the compositions still ran


def test_a_correct_image_gets_no_word(tmp_path: Path) -> None:
    result = check_job(APPS / "plain_job.yaml")
    assert result.ok and result.warnings == ()
    assert "imageUri" not in format_report(result)
