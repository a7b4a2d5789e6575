"""``hydra/sweeper: vertex``: the params translation, discovery, and real ``python app.py -m`` runs.

The app (``tests/apps/sweeper_app``) is template-shaped: its
``hparams_search/vertex.yaml`` sets ``hydra.mode: MULTIRUN``, so every run
here is ``python app.py hparams_search=vertex ...`` without ``-m``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec, schema_problems
from vertex_hydra.sweeper.job import build_job
from vertex_hydra.sweeper.params import parameter_spec, search_space

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "apps" / "sweeper_app"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_app(
    *args: str, cwd: Path = APP, search: str = "vertex"
) -> subprocess.CompletedProcess[str]:
    """``python app.py hparams_search=<search> <args>``: a real multirun in a subprocess."""
    return subprocess.run(
        [sys.executable, "app.py", f"hparams_search={search}", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- params → parameter specs (Hydra's own parser) ------------------------------------------

SPECS = [
    ("interval(0, 1)", {"doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0},
                        "scaleType": "UNIT_LINEAR_SCALE"}),
    ("tag(log, interval(1e-4, 0.1))", {"doubleValueSpec": {"minValue": 1e-4, "maxValue": 0.1},
                                       "scaleType": "UNIT_LOG_SCALE"}),
    ("int(interval(2, 9))", {"integerValueSpec": {"minValue": 2, "maxValue": 9},
                             "scaleType": "UNIT_LINEAR_SCALE"}),
    ("tag(log, int(interval(1, 64)))", {"integerValueSpec": {"minValue": 1, "maxValue": 64},
                                        "scaleType": "UNIT_LOG_SCALE"}),
    ("range(1, 4)", {"integerValueSpec": {"minValue": 1, "maxValue": 4},
                     "scaleType": "UNIT_LINEAR_SCALE"}),
    ("range(16, 64, 16)", {"discreteValueSpec": {"values": [16, 32, 48, 64]}}),
    ("range(0.1, 0.4, 0.1)", {"discreteValueSpec": {"values": [0.1, 0.2, 0.3, 0.4]}}),
    ("range(4, 1, -1)", {"discreteValueSpec": {"values": [1, 2, 3, 4]}}),
    ("choice(64, 16, 32)", {"discreteValueSpec": {"values": [16, 32, 64]}}),
    ("choice(0.5, 1, 0.25)", {"discreteValueSpec": {"values": [0.25, 0.5, 1]}}),
    ("choice(relu, gelu)", {"categoricalValueSpec": {"values": ["relu", "gelu"]}}),
    ("choice(true, false)", {"categoricalValueSpec": {"values": ["true", "false"]}}),
    ("choice(a, 1)", {"categoricalValueSpec": {"values": ["a", "1"]}}),
]  # fmt: skip


@pytest.mark.translation
@pytest.mark.parametrize(("text", "expected"), SPECS)
def test_parameter_spec(text: str, expected: dict[str, Any]) -> None:
    override = OverridesParser.create().parse_override(f"p={text}")
    assert parameter_spec(override, "p") == {"parameterId": "p", **expected}


@pytest.mark.translation
def test_every_spec_passes_the_job_rules() -> None:
    space = search_space({f"p{i}": text for i, (text, _) in enumerate(SPECS)})
    raw = build_job({"metric": "m"}, space, command=["python", "app.py"], args=["x=1"])
    job = JobSpec.from_dict(raw)
    assert [p.kind for p in job.parameters] == [
        "DOUBLE", "DOUBLE", "INTEGER", "INTEGER", "INTEGER", "DISCRETE", "DISCRETE", "DISCRETE",
        "DISCRETE", "DISCRETE", "CATEGORICAL", "CATEGORICAL", "CATEGORICAL"]  # fmt: skip


def test_every_spec_passes_the_real_schema() -> None:
    space = search_space({f"p{i}": text for i, (text, _) in enumerate(SPECS)})
    raw = build_job({"metric": "m"}, space, command=["python", "app.py"], args=["x=1"])
    assert schema_problems(raw) == []


def test_fixed_values_and_command_line_overrides() -> None:
    space = search_space(
        {"model.lr": "interval(0.1, 0.5)", "steps": 3, "flag": True, "name": "abc"},
        ["model.lr=0.2", "seed=4"],
    )
    assert space.parameters == []
    assert space.fixed == ["steps=3", "flag=true", "name=abc", "model.lr=0.2", "seed=4"]


BAD_PARAMS = [
    ("interval(1,", r"hydra\.sweeper\.params\.x: 'interval\(1,' is not something Hydra's sweep grammar reads"),
    ("interval(2, 1)", r"interval\(2\.0, 1\.0\) needs two numbers, the first smaller"),
    ("tag(log, interval(0, 1))", r"a log scale needs bounds above 0"),
    ("tag(foo, interval(0, 1))", r"tag 'foo' means nothing"),
    ("tag(log, choice(1, 2))", r"tag\(log, \.\.\.\) only applies to an interval"),
    ("range(1, 1)", r"range\(1, 1, 1\) holds 1 value\(s\)"),
    ("choice(1, 1, 2)", r"repeats a value"),
    ("glob(*)", r"\(Glob\) has no Vertex AI form"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "match"), BAD_PARAMS)
def test_bad_params_entry(text: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        search_space({"x": text})


def test_prefixed_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"params\.\+x: a tuned parameter cannot carry"):
        search_space({"+x": "interval(0, 1)"})


BAD_OPTIONS = [
    ({"metric": None}, r"hydra\.sweeper\.metric is not set"),
    ({"metric": ["a", "b"], "direction": ["maximize"]}, r"direction has 1 entries for 2 metrics"),
    ({"direction": "up"}, r"hydra\.sweeper\.direction is 'up'\. Fix: write minimize or maximize"),
    ({"sampler": {"_target_": "optuna.samplers.TPESampler"}}, r"hydra\.sweeper\.sampler has no meaning on Vertex AI: .*algorithm"),
    ({"storage": "sqlite:///x.db"}, r"hydra\.sweeper\.storage has no meaning on Vertex AI: .*hydra\.sweep\.dir"),
    ({"algorithm": "tpe"}, r"hydra\.sweeper\.algorithm is 'tpe'\. Fix: write one of GRID_SEARCH, RANDOM_SEARCH"),
    ({"n_trials": 0}, r"hydra\.sweeper\.n_trials is 0\. Fix: write a whole number of at least 1"),
    ({"max_failure_rate": 0.25}, r"hydra\.sweeper\.max_failure_rate has no meaning on Vertex AI: .*max_failed_trials \(maxFailedTrialCount\)"),
    ({"max_failure_rate": 0.0}, r"hydra\.sweeper\.max_failure_rate has no meaning on Vertex AI"),
    ({"custom_search_space": "my.fn"}, r"hydra\.sweeper\.custom_search_space has no meaning on Vertex AI: .*conditional"),
    ({"search_space": {"x": {"type": "float"}}}, r"hydra\.sweeper\.search_space has no meaning on Vertex AI: .*hydra\.sweeper\.params"),
    ({"n_trail": 5}, r"^hydra\.sweeper\.n_trail is not an option of hydra/sweeper: vertex \(did you mean n_trials\?\)\. Fix: delete it"),
    ({"colour": "red"}, r"^hydra\.sweeper\.colour is not an option of hydra/sweeper: vertex\. Fix: delete it"),
    ({"vertex": {"machine": "n1"}}, r"^hydra\.sweeper\.vertex\.machine is not an option of hydra/sweeper: vertex \(did you mean machine_type\?\)"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "match"), BAD_OPTIONS)
def test_bad_options(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        build_job({"metric": "m", **options}, search_space({"x": "interval(0, 1)"}),
                  command=["python", "a.py"], args=[])  # fmt: skip


def test_options_map_to_vertex_fields() -> None:
    raw = build_job(
        {"metric": ["acc", "ms"], "direction": ["maximize", "minimize"], "n_trials": 9,
         "n_jobs": 3, "max_failed_trials": 2, "algorithm": "random_search",
         "measurement_selection": "best_measurement", "study_name": "s",
         "stopping": {"medianAutomatedStoppingSpec": {"useElapsedDuration": False}},
         "vertex": {"image_uri": "img", "machine_type": "n1-highmem-2",
                    "accelerator_type": "NVIDIA_TESLA_T4", "accelerator_count": 1,
                    "base_output_directory": "gs://b/hpt"}},
        search_space({"x": "interval(0, 1)"}), command=["python", "a.py"], args=["y=2"],
    )  # fmt: skip
    assert raw["displayName"] == "s"
    assert (raw["maxTrialCount"], raw["parallelTrialCount"], raw["maxFailedTrialCount"]) == (
        9,
        3,
        2,
    )
    study = raw["studySpec"]
    assert study["algorithm"] == "RANDOM_SEARCH"
    assert study["measurementSelectionType"] == "BEST_MEASUREMENT"
    assert study["medianAutomatedStoppingSpec"] == {"useElapsedDuration": False}
    assert [m["goal"] for m in study["metrics"]] == ["MAXIMIZE", "MINIMIZE"]
    pool = raw["trialJobSpec"]["workerPoolSpecs"][0]
    assert pool["machineSpec"] == {"machineType": "n1-highmem-2",
                                   "acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 1}  # fmt: skip
    assert pool["containerSpec"] == {
        "imageUri": "img",
        "command": ["python", "a.py"],
        "args": ["y=2"],
    }
    assert raw["trialJobSpec"]["baseOutputDirectory"] == {"outputUriPrefix": "gs://b/hpt"}
    assert schema_problems(raw) == []


# --- discovery and a light plugin module ----------------------------------------------------


@pytest.mark.lowest_hydra
def test_hydra_discovers_the_sweeper_and_its_module_stays_light() -> None:
    code = (
        "import sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.sweeper import Sweeper\n"
        "names = [p.__name__ for p in Plugins.instance().discover(Sweeper)]\n"
        "from hydra.core.config_store import ConfigStore\n"
        "node = ConfigStore.instance().load('hydra/sweeper/vertex.yaml').node\n"
        "heavy = sorted(m for m in ('optuna', 'torch', 'lightning', 'google.cloud.aiplatform',\n"
        "    'vertex_hydra.local', 'vertex_hydra.sweeper._impl', 'matplotlib') if m in sys.modules)\n"
        "print(names, node._target_, heavy)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], env=_env(), cwd=ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "'VertexSweeper'" in run.stdout
    assert "hydra_plugins.vertex_hydra_sweeper.vertex_sweeper.VertexSweeper" in run.stdout
    assert run.stdout.strip().endswith("[]"), run.stdout


@pytest.mark.lowest_hydra
def test_hydra_plugins_is_a_namespace_package() -> None:
    assert not (ROOT / "hydra_plugins" / "__init__.py").exists()
    assert (ROOT / "hydra_plugins" / "vertex_hydra_sweeper" / "vertex_sweeper.py").is_file()


# --- real multiruns -------------------------------------------------------------------------


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_local_study_end_to_end(tmp_path: Path) -> None:
    sweep, log = tmp_path / "sweep", tmp_path / "log.jsonl"
    # A sweep on the command line joins params; optim is a config group.
    run = run_app(f"hydra.sweep.dir={sweep}", f"log={log}", "sleep=1", "optim=choice(adam,sgd)")
    assert run.returncode == 0, run.stderr
    assert "4 trials, 2 at a time" in run.stdout
    # Two at once: trial 2 starts while trial 1 (which sleeps 1 s) still runs.
    assert run.stdout.index("trial 2 started") < run.stdout.index("trial 1 SUCCEEDED")
    entries = sorted(read_log(log), key=lambda e: int(e["trial"]))
    assert [e["trial"] for e in entries] == ["1", "2", "3", "4"]
    for e in entries:
        values = e["values"]
        lr, depth, width, act = (values[k] for k in ("lr", "depth", "width", "act"))
        assert lr[1] == "float" and 1e-4 <= lr[0] <= 0.1
        assert depth[1] == "int" and depth[0] in (1, 2, 3, 4)
        assert width[1] == "int" and width[0] in (8, 16, 32)
        assert act == ["relu", "str"] or act == ["gelu", "str"]
        # Started as Vertex starts it: the user's overrides, then one --id=value per parameter.
        assert e["argv"][:4] == ["hparams_search=vertex", f"log={log}", "sleep=1", "hydra.mode=RUN"]
        assert [a.split("=")[0] for a in e["argv"][5:]] == [
            "--model.lr", "--model.depth", "--model.width", "--model.act", "--optim"]  # fmt: skip
        assert e["mode"] == "RunMode.RUN"
        assert e["run_dir"] == str(sweep / e["trial"])
        assert e["cwd"] == str(APP)
    rows = read_csv(sweep / "trials.csv")
    assert [r["state"] for r in rows] == ["SUCCEEDED"] * 4
    assert [e["optim"] for e in entries] == [r["optim"] for r in rows]
    assert {e["optim"] for e in entries} <= {"adam", "sgd"}
    best = max(rows, key=lambda r: float(r["value"]))
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["name"] == "vertex"
    assert results["best_value"] == pytest.approx(float(best["value"]))
    assert results["best_params"]["model.depth"] == int(float(best["model.depth"]))
    assert isinstance(results["best_params"]["model.width"], int)
    assert results["best_params"]["model.lr"] == pytest.approx(float(best["model.lr"]))
    for name in ("history.png", "param_model.lr.png", "multirun.yaml", "study.db"):
        assert (sweep / name).is_file(), name


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_crashing_trials_are_failed(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run = run_app(f"hydra.sweep.dir={sweep}", "crash_depth=2", "hydra.sweeper.max_failed_trials=4",
                  "model.depth=range(1,2)", "hydra.sweeper.n_jobs=1")  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = read_csv(sweep / "trials.csv")
    assert len(rows) == 4
    for row in rows:
        expected = "FAILED" if float(row["model.depth"]) == 2 else "SUCCEEDED"
        assert row["state"] == expected, row
    assert any(r["state"] == "FAILED" for r in rows) and any(
        r["state"] == "SUCCEEDED" for r in rows
    )
    assert "the fixture crashed on purpose" in run.stdout


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_too_many_failures_exit_1(tmp_path: Path) -> None:
    run = run_app(
        f"hydra.sweep.dir={tmp_path / 's'}", "act=crash", "hydra.sweeper.max_failed_trials=2"
    )
    assert run.returncode == 1
    assert "Study stopped: 2 trials FAILED (limit 2)" in run.stdout


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_same_sweep_dir_resumes(tmp_path: Path) -> None:
    sweep, log = tmp_path / "sweep", tmp_path / "log.jsonl"
    first = run_app(f"hydra.sweep.dir={sweep}", f"log={log}", "hydra.sweeper.n_trials=2")
    assert first.returncode == 0, first.stderr
    second = run_app(f"hydra.sweep.dir={sweep}", f"log={log}", "hydra.sweeper.n_trials=3")
    assert second.returncode == 0, second.stderr
    assert (
        "3 trials, 2 at a time, Bayesian optimisation (Optuna TPE), 2 already finished"
        in second.stdout
    )
    assert [e["trial"] for e in read_log(log)].count("3") == 1
    assert [r["trial_id"] for r in read_csv(sweep / "trials.csv")] == ["1", "2", "3"]


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_export_round_trip(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", "outputs", "multirun"))
    sweep = tmp_path / "sweep"
    run = run_app(f"hydra.sweep.dir={sweep}", cwd=app, search="vertex_export")
    assert run.returncode == 0, run.stderr
    assert f"Job file: {sweep / 'job.yaml'}" in run.stdout
    # It says where the file must go for check and local (the command is relative to the app).
    assert f"cp {sweep / 'job.yaml'} {app}/job.yaml, then vertex-hydra check job.yaml" in run.stdout
    raw = yaml.safe_load((sweep / "job.yaml").read_text())
    assert not (sweep / "study.db").exists()
    pool = raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert pool["command"] == ["python", "app.py"]
    # hydra.* overrides belong to the sweep, not to the trials.
    assert pool["args"] == ["hparams_search=vertex_export", "hydra.mode=RUN"]
    assert pool["imageUri"] == "europe-west4-docker.pkg.dev/project/repo/sweeper:latest"
    assert [p["parameterId"] for p in raw["studySpec"]["parameters"]] == ["model.lr", "model.depth"]
    # The command is relative to the working dir, as in the container: put the file there.
    shutil.copy(sweep / "job.yaml", app / "job.yaml")
    cli = [sys.executable, "-m", "vertex_hydra"]
    check = subprocess.run([*cli, "check", "job.yaml"], cwd=app, env=_env(),
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    local = subprocess.run([*cli, "local", "job.yaml", "--workdir", str(tmp_path / "w"), "--seed", "0"],
                           cwd=app, env=_env(), capture_output=True, text=True, check=False)  # fmt: skip
    assert local.returncode == 0, local.stdout + local.stderr
    rows = read_csv(tmp_path / "w" / "trials.csv")
    assert [r["state"] for r in rows] == ["SUCCEEDED"] * 3
    assert all(1 <= float(r["model.depth"]) <= 4 for r in rows)


@pytest.mark.lowest_hydra
@pytest.mark.slow
@pytest.mark.parametrize(
    ("launch", "command"),
    [
        (["app.py"], ["python", "app.py"]),
        (["-m", "pkg.app"], ["python", "-m", "pkg.app"]),
        # A tool's own module is __main__ here: the trial is still the app.
        (["-m", "cProfile", "-o", os.devnull, "pkg/app.py"], ["python", "pkg/app.py"]),
        (["-m", "trace", "--listfuncs", "pkg/app.py"], ["python", "pkg/app.py"]),
    ],
)
def test_the_trial_command_is_how_the_sweep_was_started(
    tmp_path: Path, launch: list[str], command: list[str]
) -> None:
    root = tmp_path / "root"
    pkg = root / "pkg"
    shutil.copytree(APP, pkg, ignore=shutil.ignore_patterns("__pycache__", "outputs", "multirun"))
    (pkg / "__init__.py").write_text("")
    cwd = pkg if launch == ["app.py"] else root
    sweep = tmp_path / "sweep"
    run = subprocess.run(
        [sys.executable, *launch, "hparams_search=vertex_export", f"hydra.sweep.dir={sweep}"],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    raw = yaml.safe_load((sweep / "job.yaml").read_text())
    assert raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["command"] == command


BAD_RUNS = [
    (["hydra.sweeper.metric=null"], r"^Error: hydra\.sweeper\.metric is not set"),
    (["model.nope=interval(0,1)"], r"^Error: the override 'model\.nope=interval\(0,1\)': the config has no key 'model\.nope'"),
    (["hparams_search=vertex_bad"], r"^Error: hydra\.sweeper\.params\.model\.lr: 'interval\(0\.001,' is not something Hydra's sweep grammar reads"),
    (["+hydra.sweeper.sampler.seed=1"], r"^Error: hydra\.sweeper\.sampler has no meaning on Vertex AI"),
    (["hydra.sweeper.backend=cloud"], r"^Error: hydra\.sweeper\.backend is 'cloud'\. Fix: write one of local, export, vertex"),
    (["hydra.sweeper.backend=export"], r"^Error: hydra\.sweeper\.backend=export needs the trial image"),
    (["hydra.sweeper.backend=vertex", "hydra.sweeper.vertex.image_uri=img"], r"^Error: hydra\.sweeper\.backend=vertex needs hydra\.sweeper\.vertex\.project"),
    (["hydra.sweeper.direction=[maximize,minimize]"], r"^Error: hydra\.sweeper\.direction has 2 entries for 1 metrics \['score'\]"),
    (["+hydra.sweeper.n_trail=5"], r"^Error: hydra\.sweeper\.n_trail is not an option of hydra/sweeper: vertex \(did you mean n_trials\?\)"),
    (["hydra.sweeper.max_failure_rate=0.25"], r"^Error: hydra\.sweeper\.max_failure_rate has no meaning on Vertex AI: .*max_failed_trials"),
    (["+hydra.sweeper.vertex.machine=n1"], r"^Error: hydra\.sweeper\.vertex\.machine is not an option of hydra/sweeper: vertex \(did you mean machine_type\?\)"),
]  # fmt: skip


@pytest.mark.lowest_hydra
@pytest.mark.slow
@pytest.mark.parametrize(("args", "match"), BAD_RUNS)
def test_bad_config_stops_before_any_trial(tmp_path: Path, args: list[str], match: str) -> None:
    sweep = tmp_path / "sweep"
    run = run_app(f"hydra.sweep.dir={sweep}", *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "antlr" not in run.stderr.lower()
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr

    assert re.search(match, lines[0]), lines[0]
    assert not (sweep / "study.db").exists()


@pytest.mark.slow
def test_vertex_backend_dry_run_prints_the_body(tmp_path: Path) -> None:
    run = run_app(f"hydra.sweep.dir={tmp_path / 's'}", "hydra.sweeper.backend=vertex",
                  "hydra.sweeper.vertex.dry_run=true", search="vertex_export")  # fmt: skip
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
    from google.protobuf import json_format

    message = json_format.ParseDict(body, HyperparameterTuningJob.pb()())
    assert message.max_trial_count == 3 and message.display_name == "app-sweep"
    assert [p.parameter_id for p in message.study_spec.parameters] == ["model.lr", "model.depth"]
    container = message.trial_job_spec.worker_pool_specs[0].container_spec
    assert list(container.command) == ["python", "app.py"]
    assert [e.name for e in container.env] == ["VERTEX_HYDRA_STUDY"]


@pytest.mark.slow
def test_vertex_backend_checks_then_submits_to_the_fake(tmp_path: Path) -> None:
    from vertex_fake import serve_fake_vertex

    from vertex_hydra.cloud import build_request_body
    from vertex_hydra.jobspec import read_job_file

    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", "outputs", "multirun"))
    sweep = tmp_path / "sweep"
    env = _env()
    env.update(VERTEX_HYDRA_ANONYMOUS_CREDENTIALS="1", NO_PROXY="127.0.0.1,localhost")
    with serve_fake_vertex() as fake:
        run = subprocess.run(
            [sys.executable, "app.py", "hparams_search=vertex_export", f"hydra.sweep.dir={sweep}",
             "hydra.sweeper.backend=vertex", "hydra.sweeper.vertex.project=proj",
             "hydra.sweeper.vertex.region=europe-west4",
             f"hydra.sweeper.vertex.api_endpoint={fake.url}"],
            cwd=app, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "check: OK" in run.stdout
    [request] = fake.requests
    assert (request.method, request.path) == (
        "POST", "/v1/projects/proj/locations/europe-west4/hyperparameterTuningJobs")  # fmt: skip
    # The same body `submit` would send for the exported job file.
    export = run_app(f"hydra.sweep.dir={tmp_path / 'e'}", cwd=app, search="vertex_export")
    assert export.returncode == 0, export.stderr
    expected = build_request_body(
        read_job_file(tmp_path / "e" / "job.yaml"), display_name="app-sweep"
    )
    from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
    from google.protobuf import json_format

    def message(body: Any) -> Any:
        return json_format.ParseDict(body, HyperparameterTuningJob.pb()())

    assert message(request.body) == message(expected)
    name = json.loads((sweep / "vertex_job.json").read_text())["name"]
    assert f"Submitted: {name}" in run.stdout
    assert name.startswith("projects/proj/locations/europe-west4/hyperparameterTuningJobs/")
    assert not list(app.glob(".vertex-hydra-sweep-*"))


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_ctrl_c_then_resume(tmp_path: Path) -> None:
    import signal
    import time

    sweep, log = tmp_path / "sweep", tmp_path / "log.jsonl"
    args = [sys.executable, "app.py", "hparams_search=vertex", f"hydra.sweep.dir={sweep}",
            f"log={log}", "sleep=3"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=APP, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        while not (log.exists() and len(log.read_text().splitlines()) >= 2):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "Interrupted by SIGINT: 0 finished trials kept" in out
    assert f"Resume with the same command and hydra.sweep.dir={sweep}" in out
    again = subprocess.run(args, cwd=APP, env=_env(), capture_output=True, text=True,
                           timeout=300, check=False)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 already finished" in again.stdout
    rows = read_csv(sweep / "trials.csv")
    assert len(rows) == 4 and {r["state"] for r in rows} == {"SUCCEEDED"}
    assert (sweep / "optimization_results.yaml").is_file()


@pytest.mark.slow
def test_digits_example_exports_the_study_of_its_job_file(tmp_path: Path) -> None:
    digits = ROOT / "examples" / "digits"
    run = subprocess.run(
        [sys.executable, "train.py", "-m", "hparams_search=digits_vertex",
         f"hydra.sweep.dir={tmp_path}", "hydra.sweeper.backend=export"],
        cwd=digits, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    exported = yaml.safe_load((tmp_path / "job.yaml").read_text())
    written = yaml.safe_load((digits / "job.yaml").read_text())
    assert exported["studySpec"] == written["studySpec"]
    for key in ("displayName", "maxTrialCount", "parallelTrialCount", "maxFailedTrialCount"):
        assert exported[key] == written[key], key
    container = exported["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert container["command"] == ["python", "train.py"]
    assert container["imageUri"] == written["trialJobSpec"]["workerPoolSpecs"][0][
        "containerSpec"]["imageUri"]  # fmt: skip


def test_docs_options_table_lists_every_key() -> None:
    from dataclasses import fields

    from vertex_hydra.sweeper.config import VertexBlock, VertexSweeperConf

    text = (ROOT / "docs" / "sweeper.md").read_text()
    keys = [f.name for f in fields(VertexSweeperConf) if not f.name.startswith("_")]
    keys += [f"vertex.{f.name}" for f in fields(VertexBlock)]
    missing = [k for k in keys if f"`{k}`" not in text]
    assert missing == []


def test_optimization_results_one_metric_and_a_pareto_front() -> None:
    from vertex_hydra.jobspec import MetricSpec, ParameterSpec
    from vertex_hydra.results import StudyResults, TrialResult
    from vertex_hydra.sweeper._backend_local import optimization_results

    params = (ParameterSpec("n", "INTEGER", min_value=1, max_value=4),
              ParameterSpec("bs", "DISCRETE", values=(16, 32)),
              ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu")))  # fmt: skip
    trials = [
        TrialResult("1", "SUCCEEDED", {"n": 2.0, "bs": 32.0, "act": "gelu"}, {"acc": 0.8, "ms": 1.0}),
        TrialResult("2", "SUCCEEDED", {"n": 3.0, "bs": 16.0, "act": "relu"}, {"acc": 0.9, "ms": 5.0}),
        TrialResult("3", "FAILED", {"n": 1.0, "bs": 16.0, "act": "relu"}, {}),
        TrialResult("4", "SUCCEEDED", {"n": 1.0, "bs": 16.0, "act": "relu"}, {"acc": 0.7, "ms": 6.0}),
    ]  # fmt: skip
    one = optimization_results(StudyResults((MetricSpec("acc", "MAXIMIZE"),), params, trials))
    assert one == {"name": "vertex", "best_params": {"n": 3, "bs": 16, "act": "relu"},
                   "best_value": 0.9}  # fmt: skip
    assert type(one["best_params"]["n"]) is int and type(one["best_params"]["bs"]) is int
    two = optimization_results(StudyResults(
        (MetricSpec("acc", "MAXIMIZE"), MetricSpec("ms", "MINIMIZE")), params, trials))  # fmt: skip
    assert two == {"name": "vertex", "solutions": [
        {"params": {"n": 2, "bs": 32, "act": "gelu"}, "values": [0.8, 1.0]},
        {"params": {"n": 3, "bs": 16, "act": "relu"}, "values": [0.9, 5.0]}]}  # fmt: skip
    none = optimization_results(StudyResults((MetricSpec("acc", "MAXIMIZE"),), params, trials[2:3]))
    assert none == {"name": "vertex", "best_params": None, "best_value": None}


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_config_name_reaches_every_trial(tmp_path: Path) -> None:
    sweep, log = tmp_path / "sweep", tmp_path / "log.jsonl"
    run = run_app(f"hydra.sweep.dir={sweep}", f"log={log}", "hydra.sweeper.n_trials=1",
                  "--config-name", "train")  # fmt: skip
    assert run.returncode == 0, run.stderr
    [entry] = read_log(log)
    assert entry["argv"][:3] == ["--config-name", "train", "hparams_search=vertex"]
    assert read_csv(sweep / "trials.csv")[0]["state"] == "SUCCEEDED"


@pytest.mark.slow
def test_vertex_backend_waits_and_writes_the_results(tmp_path: Path) -> None:
    from vertex_fake import serve_fake_vertex

    name = "projects/proj/locations/europe-west4/hyperparameterTuningJobs/4242"

    def trial(tid: str, lr: float, depth: int, score: float) -> dict[str, Any]:
        return {"id": tid, "state": "SUCCEEDED",
                "parameters": [{"parameterId": "model.lr", "value": lr},
                               {"parameterId": "model.depth", "value": float(depth)}],
                "finalMeasurement": {"stepCount": "1",
                                     "metrics": [{"metricId": "score", "value": score}]}}  # fmt: skip

    sweep = tmp_path / "sweep"
    env = _env()
    env.update(VERTEX_HYDRA_ANONYMOUS_CREDENTIALS="1", NO_PROXY="127.0.0.1,localhost")
    with serve_fake_vertex() as fake:
        # What Vertex AI returns: the job as created, plus its state and trials.
        job = {
            "studySpec": {
                "metrics": [{"metricId": "score", "goal": "MAXIMIZE"}],
                "parameters": [
                    {"parameterId": "model.lr", "doubleValueSpec": {"minValue": 1e-4, "maxValue": 0.1}},
                    {"parameterId": "model.depth", "integerValueSpec": {"minValue": "1", "maxValue": "4"}},
                ],
            },
            "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {
                "imageUri": "img", "command": ["python", "app.py"]}}]},
        }  # fmt: skip
        fake.add_job(name, {**job, "state": "JOB_STATE_RUNNING"},
                     {**job, "state": "JOB_STATE_SUCCEEDED",
                      "trials": [trial("1", 0.01, 2, 0.98), trial("2", 0.002, 3, 0.99)]})  # fmt: skip
        run = subprocess.run(
            [sys.executable, "app.py", "hparams_search=vertex_export", f"hydra.sweep.dir={sweep}",
             "hydra.sweeper.backend=vertex", "hydra.sweeper.vertex.project=proj",
             "hydra.sweeper.vertex.region=europe-west4", "hydra.sweeper.vertex.check=false",
             "hydra.sweeper.vertex.wait=true", "hydra.sweeper.vertex.poll_interval=0.01",
             f"hydra.sweeper.vertex.api_endpoint={fake.url}"],
            cwd=APP, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "job JOB_STATE_SUCCEEDED" in run.stdout
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results == {"name": "vertex", "best_params": {"model.lr": 0.002, "model.depth": 3},
                       "best_value": 0.99}  # fmt: skip
    assert [r["trial_id"] for r in read_csv(sweep / "trials.csv")] == ["1", "2"]


@pytest.mark.slow
def test_conditional_block_is_exported_as_conditional_parameter_specs(tmp_path: Path) -> None:
    run = run_app(f"hydra.sweep.dir={tmp_path}", search="vertex_conditional")
    assert run.returncode == 0, run.stderr
    raw = yaml.safe_load((tmp_path / "job.yaml").read_text())
    act = raw["studySpec"]["parameters"][-1]
    assert act["parameterId"] == "model.act"
    assert act["conditionalParameterSpecs"] == [{
        "parentCategoricalValues": {"values": ["gelu"]},
        "parameterSpec": {"parameterId": "model.width", "discreteValueSpec": {"values": [8, 16]}},
    }]  # fmt: skip
    assert schema_problems(raw) == []


@pytest.mark.parametrize(
    ("conditional", "match"),
    [
        ({"model.x": [{"when": [1], "params": {"b": "interval(0, 1)"}}]},
         r"conditional\.model\.x: the parent must be a tuned choice\(\.\.\.\) or integer range"),
        ({"lr": [{"when": [1], "params": {"b": "interval(0, 1)"}}]},
         r"conditional\.lr: .* got a float interval"),
        ({"act": [{"params": {"b": "interval(0, 1)"}}]}, r"conditional\.act\[0\] needs 'when'"),
        ({"act": [{"when": ["a"], "params": {"b": "3"}}]},
         r"conditional\.act\[0\]\.params\.b: a conditional parameter must be a sweep"),
    ],
)  # fmt: skip
def test_bad_conditional_block(conditional: dict[str, Any], match: str) -> None:
    from vertex_hydra.sweeper.params import add_conditions

    space = search_space({"lr": "interval(0.1, 1)", "act": "choice(a, b)"})
    with pytest.raises(ConfigurationError, match=match):
        add_conditions(space, conditional)


@pytest.mark.lowest_hydra
@pytest.mark.slow
def test_the_local_backend_passes_a_child_only_when_its_parent_activates_it(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.jsonl"
    run = run_app(f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.sweeper.backend=local",
                  "hydra.sweeper.n_trials=10", "hydra.sweeper.algorithm=RANDOM_SEARCH",
                  "hydra.sweeper.seed=0", f"log={log}",
                  search="vertex_conditional")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    entries = read_log(log)
    assert len(entries) == 10
    for entry in entries:
        widths = [a for a in entry["argv"] if a.startswith("--model.width=")]
        act = [a for a in entry["argv"] if a.startswith("--model.act=")]
        if act == ["--model.act=gelu"]:
            assert len(widths) == 1 and entry["values"]["width"] in ([8, "int"], [16, "int"])
        else:
            assert act == ["--model.act=relu"] and widths == []
            assert entry["values"]["width"] == [16, "int"]  # the config's own value, untouched
    rows = read_csv(tmp_path / "sweep" / "trials.csv")
    assert {(r["model.act"], r["model.width"] == "") for r in rows} == {
        ("relu", True),
        ("gelu", False),
    }
