"""The job-file model: reading, the real Vertex schema, each rule, and trial argv/env."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import (
    JobSpec,
    MetricSpec,
    ParameterSpec,
    load_job,
    read_job_file,
    rule_problems,
    schema_problems,
)
from vertex_hydra.study_env import STUDY_ENV, StudyMetric, read_study

DIGITS_JOB = Path(__file__).resolve().parents[1] / "examples" / "digits" / "job.yaml"

VALID: dict[str, Any] = {
    "displayName": "fixture",
    "maxTrialCount": 6,
    "parallelTrialCount": 2,
    "maxFailedTrialCount": 1,
    "studySpec": {
        "metrics": [{"metricId": "val_loss", "goal": "MINIMIZE"}],
        "parameters": [
            {"parameterId": "model.optimizer.lr", "scaleType": "UNIT_LOG_SCALE",
             "doubleValueSpec": {"minValue": 1e-6, "maxValue": 1e-3}},
            {"parameterId": "data.batch_size", "discreteValueSpec": {"values": [32, 64, 128]}},
            {"parameterId": "model.act", "categoricalValueSpec": {"values": ["relu", "gelu new"]}},
            {"parameterId": "model.depth", "scaleType": "UNIT_LINEAR_SCALE",
             "integerValueSpec": {"minValue": 1, "maxValue": 4}},
        ],
        "measurementSelectionType": "BEST_MEASUREMENT",
    },
    "trialJobSpec": {
        "baseOutputDirectory": {"outputUriPrefix": "gs://bucket/hpt/"},
        "workerPoolSpecs": [{
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": 1,
            "containerSpec": {"imageUri": "europe-docker.pkg.dev/p/r/img:tag",
                              "command": ["python", "train.py"], "args": ["experiment=x"]},
        }],
    },
}  # fmt: skip


def job_with(**changes: Any) -> dict[str, Any]:
    """A deep copy of VALID with dotted-path changes (``studySpec__algorithm=...``)."""
    raw = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node: Any = raw
        for name in parents:
            node = node[int(name)] if name.isdigit() else node[name]
        node[last] = value
    return raw


# --- reading ---------------------------------------------------------------------------


def test_read_job_file_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("maxTrialCount: 3\nstudySpec: {metrics: []}\n", encoding="utf-8")
    assert read_job_file(path) == {"maxTrialCount": 3, "studySpec": {"metrics": []}}


def test_read_job_file_missing(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"cannot read job file .*nope\.yaml.*Fix: pass the path"
    ):
        read_job_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("studySpec: [unclosed\n", (r"while parsing a flow sequence \(line 1, column 12\): expected ',' or "
                                     r"'\]', but got '<stream end>' \(line 2, column 1\)\. Fix: correct the YAML")),
        ("a: 1\n b: 2\n", r"mapping values are not allowed here \(line 2, column 3\)\. Fix:"),
        ("a:\n\tb: 2\n", (r"while scanning for the next token: found character '\\t' that cannot start "
                           r"any token \(line 2, column 1\)\. Fix: .*spaces, not tabs")),
    ],
)  # fmt: skip
def test_read_job_file_invalid_yaml(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigurationError, match=r"job\.yaml' is not valid YAML: " + match
    ) as caught:
        read_job_file(path)
    assert "\n" not in str(caught.value) and "<unicode string>" not in str(caught.value)


def test_read_job_file_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(
        ConfigurationError, match=r"must hold a mapping .*got list\. Fix: .*studySpec"
    ):
        read_job_file(path)
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"got nothing \(the file is empty\)\. Fix:"):
        read_job_file(path)


def test_read_job_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\xf0\x9f\x00\xff")
    with pytest.raises(
        ConfigurationError,
        match=r"cannot read job file .*: it is not UTF-8 text\. Fix: pass the path",
    ):
        read_job_file(path)


# --- the real HyperparameterTuningJob schema --------------------------------------------


def test_schema_accepts_the_contract_example() -> None:
    assert schema_problems(VALID) == []


def test_schema_accepts_the_digits_example() -> None:
    assert schema_problems(read_job_file(DIGITS_JOB)) == []


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        pytest.param(
            job_with(maxTrialCnt=3),
            r'has no field named "maxTrialCnt" at "HyperparameterTuningJob"\. '
            r"Fix: did you mean 'maxTrialCount'\?",
            id="misspelt-top-level-field",
        ),
        pytest.param(
            job_with(studySpec__metrics=[{"metricID": "val_loss", "goal": "MINIMIZE"}]),
            r'no field named "metricID" at "HyperparameterTuningJob\.studySpec\.metrics\[0\]"\. '
            r"Fix: did you mean 'metricId'\? fields allowed at .*: metricId, goal",
            id="misspelt-nested-field",
        ),
        pytest.param(
            job_with(studySpec__algorithm="GRID"),
            r"Invalid enum value GRID for enum type .*Algorithm.* Fix: use one of GRID_SEARCH, RANDOM_SEARCH\.",
            id="bad-enum",
        ),
        pytest.param(
            job_with(maxTrialCount="many"),
            r"^maxTrialCount is the text 'many', not a whole number .* Fix: write maxTrialCount "
            r"as a whole number .*, e\.g\. 4\.$",
            id="bad-number",
        ),
        pytest.param(
            job_with(studySpec__measurementSelectionType=float("inf")),
            r"^studySpec\.measurementSelectionType is the float inf, not one of LAST_MEASUREMENT, "
            r"BEST_MEASUREMENT.* Fix: write .* e\.g\. LAST_MEASUREMENT\.$",
            id="infinite-enum-was-an-OverflowError",
        ),
        pytest.param(
            job_with(studySpec__parameters__1__discreteValueSpec__values=[32, "x", 128]),
            r"^studySpec\.parameters\[1\]\.discreteValueSpec\.values\[1\] is the text 'x', not a "
            r"finite number.* Fix:",
            id="list-element",
        ),
        pytest.param(
            job_with(studySpec=[1]),
            r"^studySpec is a list, not a mapping \(StudySpec\).* Fix: write studySpec as a mapping",
            id="list-for-a-mapping",
        ),
        pytest.param(
            job_with(studySpec__metrics={"metricId": "val_loss", "goal": "MINIMIZE"}),
            r"repeated field metrics must be in \[\] .* at HyperparameterTuningJob\.studySpec\. "
            r"Fix: write metrics as a YAML list, e\.g\. metrics: \[a, b\]\.$",
            id="not-a-list",
        ),
    ],
)
def test_schema_rejects_what_gcloud_rejects(raw: dict[str, Any], match: str) -> None:
    problems = schema_problems(raw)
    assert problems is not None and len(problems) == 1
    with pytest.raises(ConfigurationError, match=match):
        raise ConfigurationError(problems[0])


def test_schema_without_the_cloud_extra_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "google.cloud.aiplatform_v1", None)
    assert schema_problems(VALID) is None


# --- the rules the schema does not check -------------------------------------------------

RULES = [
    pytest.param(
        job_with(studySpec__parameters__1__discreteValueSpec={"values": [64, 32, 128]}),
        r"parameters\[1\] \(data\.batch_size\): discrete values must be strictly increasing, "
        r"got \[64, 32, 128\]\. Fix: write them sorted: \[32\.0, 64\.0, 128\.0\]",
        id="discrete-increasing",
    ),
    pytest.param(
        job_with(studySpec__algorithm="GRID_SEARCH"),
        r"parameters\[0\] \(model\.optimizer\.lr\): GRID_SEARCH cannot tune a DOUBLE parameter\. "
        r"Fix: use discreteValueSpec",
        id="grid-search-double",
    ),
    pytest.param(
        job_with(studySpec__parameters__3__integerValueSpec={"minValue": 4, "maxValue": 1}),
        r"parameters\[3\] \(model\.depth\): minValue 4 must be less than maxValue 1\. Fix: swap them",
        id="min-less-than-max",
    ),
    pytest.param(
        job_with(studySpec__parameters__0__doubleValueSpec={"minValue": 0, "maxValue": 1e-3}),
        r"parameters\[0\] \(model\.optimizer\.lr\): UNIT_LOG_SCALE needs positive bounds, "
        r"got minValue 0\. Fix: raise minValue above 0",
        id="log-scale-positive",
    ),
    pytest.param(
        job_with(studySpec__metrics=[]),
        r"studySpec\.metrics is empty\. Fix: add one",
        id="at-least-one-metric",
    ),
    pytest.param(
        job_with(studySpec__metrics=[{"metricId": "val loss", "goal": "MINIMIZE"}]),
        r"metrics\[0\]\.metricId 'val loss' is empty, not text or holds whitespace\. Fix: use a name without spaces",
        id="metric-id-whitespace",
    ),
    pytest.param(
        job_with(studySpec__metrics=[{"metricId": "val_loss", "goal": "LOWER"}]),
        r"metrics\[0\]\.goal is 'LOWER'\. Fix: set goal to MAXIMIZE or MINIMIZE",
        id="metric-goal",
    ),
    pytest.param(
        job_with(studySpec__parameters=[]),
        r"studySpec\.parameters is empty\. Fix: add at least one",
        id="no-parameters",
    ),
    pytest.param(
        job_with(studySpec__parameters__0__scaleType="LOG"),
        r"\(model\.optimizer\.lr\): scaleType 'LOG' is unknown\. Fix: use one of UNIT_LINEAR_SCALE",
        id="scale-type",
    ),
    pytest.param(
        job_with(studySpec__parameters__2__doubleValueSpec={"minValue": 0, "maxValue": 1}),
        r"\(model\.act\): needs exactly one of .*; found \['doubleValueSpec', 'categoricalValueSpec'\]",
        id="two-value-specs",
    ),
    pytest.param(
        job_with(studySpec__parameters__2__categoricalValueSpec={"values": []}),
        r"\(model\.act\): values is empty\. Fix: list the values to try",
        id="empty-values",
    ),
    pytest.param(
        job_with(studySpec__parameters__3__parameterId="model depth"),
        r"parameterId 'model depth' is empty, not text or holds whitespace\. Fix: rename it",
        id="parameter-id-whitespace",
    ),
    pytest.param(
        job_with(studySpec__parameters=["lr"]),
        r"studySpec\.parameters\[0\] is the text 'lr', not a mapping\. Fix: write",
        id="parameter-not-mapping",
    ),
    pytest.param(
        job_with(trialJobSpec__workerPoolSpecs=[]),
        r"workerPoolSpecs is empty\. Fix: add one with a containerSpec",
        id="no-worker-pool",
    ),
    pytest.param(
        job_with(trialJobSpec__workerPoolSpecs=[{"replicaCount": 1}]),
        r"workerPoolSpecs\[0\] has neither containerSpec nor pythonPackageSpec\. Fix:",
        id="no-container",
    ),
    pytest.param(
        {"maxTrialCount": 2},
        r"studySpec is missing\. Fix: add studySpec",
        id="no-study-spec",
    ),
    # Wrong types: each is one sentence, never a crash or a character-by-character reading.
    pytest.param(
        job_with(maxTrialCount="many"),
        r"maxTrialCount is the text 'many', not a whole number of trials\. Fix: write e\.g\. maxTrialCount: 4\.",
        id="count-not-a-number",
    ),
    pytest.param(
        job_with(parallelTrialCount=-1),
        r"parallelTrialCount is the int -1, not a whole number of trials\.",
        id="count-negative",
    ),
    pytest.param(
        job_with(maxFailedTrialCount=1.5),
        r"maxFailedTrialCount is the float 1\.5, not a whole number",
        id="count-fractional",
    ),
    pytest.param(
        job_with(studySpec=["metrics"]),
        r"studySpec is a list, not a mapping\. Fix: write studySpec: \{metrics",
        id="study-spec-not-mapping",
    ),
    pytest.param(
        job_with(studySpec__metrics={"metricId": "val_loss", "goal": "MINIMIZE"}),
        r"studySpec\.metrics is a mapping, not a list\. Fix: write it as a YAML list, e\.g\. \[\{metricId",
        id="metrics-not-a-list",
    ),
    pytest.param(
        job_with(studySpec__parameters={"parameterId": "model.lr"}),
        r"studySpec\.parameters is a mapping, not a list\. Fix: write it as a YAML list",
        id="parameters-not-a-list",
    ),
    pytest.param(
        job_with(studySpec__parameters__2__parameterId="data.batch_size"),
        r"parameterId 'data\.batch_size' appears 2 times\. Fix: tune each parameter once",
        id="duplicate-parameter-id",
    ),
    pytest.param(
        job_with(studySpec__parameters__1__discreteValueSpec={"values": "32, 64"}),
        r"\(data\.batch_size\): values is the text '32, 64', not a list\. Fix: write it as a YAML list, "
        r"e\.g\. \[32, 64\]\.",
        id="values-not-a-list",
    ),
    pytest.param(
        job_with(trialJobSpec="img"),
        r"trialJobSpec is the text 'img', not a mapping\. Fix: write trialJobSpec: \{workerPoolSpecs",
        id="trial-job-spec-not-mapping",
    ),
    pytest.param(
        job_with(trialJobSpec__workerPoolSpecs={"containerSpec": {"imageUri": "i"}}),
        r"trialJobSpec\.workerPoolSpecs is a mapping, not a list\. Fix: write it as a YAML list",
        id="pools-not-a-list",
    ),
    pytest.param(
        job_with(trialJobSpec__workerPoolSpecs=[None]),
        r"workerPoolSpecs\[0\] is empty, not a mapping\. Fix: write it as \{machineSpec",
        id="pool-empty",
    ),
    pytest.param(
        job_with(trialJobSpec__workerPoolSpecs__0__containerSpec="img"),
        r"workerPoolSpecs\[0\]\.containerSpec is the text 'img', not a mapping\. Fix: write containerSpec:",
        id="container-not-mapping",
    ),
    pytest.param(
        job_with(
            trialJobSpec__workerPoolSpecs__0__containerSpec={
                "imageUri": "i",
                "command": "python train.py",
            }
        ),
        r"containerSpec\.command is the text 'python train\.py', not a list\. Fix: write it as a YAML list, "
        r"e\.g\. \[python, train\.py\]\.",
        id="command-not-a-list",
    ),
    pytest.param(
        job_with(
            trialJobSpec__workerPoolSpecs__0__containerSpec={
                "imageUri": "i",
                "command": ["python"],
                "args": "experiment=x",
            }
        ),
        r"containerSpec\.args is the text 'experiment=x', not a list\. Fix: .*\[experiment=x\]",
        id="args-not-a-list",
    ),
    pytest.param(
        job_with(trialJobSpec__workerPoolSpecs=[{"pythonPackageSpec": {"executorImageUri": "i"}}]),
        r"pythonPackageSpec\.pythonModule is empty\. Fix: name the module .*pythonModule: trainer\.task",
        id="python-module-missing",
    ),
]


@pytest.mark.parametrize(("raw", "match"), RULES)
def test_each_rule(raw: dict[str, Any], match: str) -> None:
    problems = rule_problems(raw)
    assert len(problems) == 1, problems
    with pytest.raises(ConfigurationError, match=match):
        JobSpec.from_dict(raw, path="job.yaml")


def test_valid_job_has_no_rule_problems() -> None:
    assert rule_problems(VALID) == []


def test_counts_written_as_text_or_integral_floats_are_read() -> None:
    raw = job_with(maxTrialCount="6", parallelTrialCount=2.0, maxFailedTrialCount="0")
    assert rule_problems(raw) == []
    job = JobSpec.from_dict(raw)
    assert (job.max_trial_count, job.parallel_trial_count, job.max_failed_trial_count) == (6, 2, 0)


# --- the model -----------------------------------------------------------------------------


def test_from_dict_reads_every_field() -> None:
    job = JobSpec.from_dict(VALID, path="some/dir/job.yaml")
    assert job.parameter_ids == [
        "model.optimizer.lr",
        "data.batch_size",
        "model.act",
        "model.depth",
    ]
    assert job.metrics == (MetricSpec("val_loss", "MINIMIZE"),)
    assert (job.max_trial_count, job.parallel_trial_count, job.max_failed_trial_count) == (6, 2, 1)
    assert job.algorithm is None
    assert job.measurement_selection == "BEST_MEASUREMENT"
    assert job.base_output_directory == "gs://bucket/hpt/"
    assert job.display_name == "fixture"
    assert job.working_dir == Path("some/dir").resolve()


@pytest.mark.parametrize(
    ("param", "value", "text"),
    [
        (ParameterSpec("lr", "DOUBLE", 1e-6, 1e-3), 1e-05, "1e-05"),
        (ParameterSpec("lr", "DOUBLE", 1e-6, 1e-3), 0.001, "0.001"),
        (ParameterSpec("bs", "DISCRETE", values=(32, 64)), 64, "64.0"),
        (ParameterSpec("depth", "INTEGER", 1, 4), 3, "3.0"),
        (ParameterSpec("act", "CATEGORICAL", values=("gelu new",)), "gelu new", "gelu new"),
    ],
)
def test_format_value_as_vertex_does(param: ParameterSpec, value: float | str, text: str) -> None:
    assert param.format_value(value) == text
    assert param.vertex_arg(value) == f"--{param.parameter_id}={text}"


@pytest.mark.parametrize(
    ("param", "probes"),
    [
        (ParameterSpec("lr", "DOUBLE", 1e-6, 1e-3), [1e-6, 1e-3]),
        (ParameterSpec("depth", "INTEGER", 1.0, 4.0), [1, 4]),
        (ParameterSpec("bs", "DISCRETE", values=(32, 64, 128)), [32, 64, 128]),
        (ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu")), ["relu", "gelu"]),
    ],
)
def test_probe_values_are_bounds_or_every_value(param: ParameterSpec, probes: list[Any]) -> None:
    assert param.probe_values() == probes


def test_trial_argv_is_byte_for_byte_what_vertex_passes() -> None:
    job = JobSpec.from_dict(VALID)
    argv = job.trial_argv(
        {
            "model.optimizer.lr": 1e-05,
            "data.batch_size": 64,
            "model.act": "gelu new",
            "model.depth": 3,
        },
        python="/venv/bin/python",
    )
    assert argv == [
        "/venv/bin/python", "train.py", "experiment=x",
        "--model.optimizer.lr=1e-05", "--data.batch_size=64.0",
        "--model.act=gelu new", "--model.depth=3.0",
    ]  # fmt: skip


def test_trial_argv_rejects_unknown_parameter() -> None:
    with pytest.raises(ConfigurationError, match=r"trial parameters \['lr'\] are not in studySpec"):
        JobSpec.from_dict(VALID).trial_argv({"lr": 0.1})


@pytest.mark.parametrize(
    ("pool", "command"),
    [
        ({"containerSpec": {"imageUri": "i", "command": ["python3", "-u", "t.py"], "args": ["a=1"]}},
         ["PY", "-u", "t.py", "a=1"]),
        ({"containerSpec": {"imageUri": "i", "command": ["/opt/run.sh"]}}, ["/opt/run.sh"]),
        ({"pythonPackageSpec": {"executorImageUri": "i", "packageUris": ["gs://p.tar.gz"],
                                "pythonModule": "trainer.task", "args": ["a=1"]}},
         ["PY", "-m", "trainer.task", "a=1"]),
    ],
)  # fmt: skip
def test_trial_command(pool: dict[str, Any], command: list[str]) -> None:
    job = JobSpec.from_dict(job_with(trialJobSpec__workerPoolSpecs=[pool]))
    assert job.trial_command("PY") == command


def test_trial_command_needs_a_command() -> None:
    job = JobSpec.from_dict(
        job_with(trialJobSpec__workerPoolSpecs=[{"containerSpec": {"imageUri": "i"}}])
    )
    with pytest.raises(
        ConfigurationError,
        match=r"containerSpec\.command is empty.*Fix: set containerSpec\.command",
    ):
        job.trial_command()


def test_trial_env() -> None:
    env = JobSpec.from_dict(VALID).trial_env(3, metric_file="/tmp/m", output_root="/out/")
    study = read_study({STUDY_ENV: env.pop(STUDY_ENV)})
    assert study is not None
    assert study.metrics == (StudyMetric("val_loss", "MINIMIZE"),)
    assert {pid: p.kind for pid, p in study.parameters.items()} == {
        p["parameterId"]: next(k for k in p if k.endswith("ValueSpec"))
        .removesuffix("ValueSpec")
        .upper()
        for p in VALID["studySpec"]["parameters"]
    }
    assert env == {
        "CLOUD_ML_TRIAL_ID": "3",
        "CLOUD_ML_HP_METRIC_FILE": "/tmp/m",
        "CLOUD_ML_JOB_ID": "local",
        "CLOUD_ML_HP_METRIC_TAG": "val_loss",
        "AIP_MODEL_DIR": "/out/3/model/",
        "AIP_CHECKPOINT_DIR": "/out/3/checkpoints/",
        "AIP_TENSORBOARD_LOG_DIR": "/out/3/logs/",
    }


def test_load_job_reads_the_digits_example() -> None:
    job = load_job(DIGITS_JOB)
    assert job.metrics == (MetricSpec("val/acc", "MAXIMIZE"),)
    assert job.working_dir == DIGITS_JOB.parent
    assert job.trial_command("PY")[:2] == ["PY", "train.py"]


def test_metric_better() -> None:
    assert MetricSpec("acc", "MAXIMIZE").better(0.9, 0.8)
    assert MetricSpec("loss", "MINIMIZE").better(0.1, 0.2)
    assert not MetricSpec("loss", "MINIMIZE").better(0.2, 0.2)


# --- the descriptor cache behind schema_problems ---------------------------------------------


def test_schema_cache_gives_gcloud_messages_unchanged(tmp_path: Path) -> None:
    from google.protobuf import json_format

    from vertex_hydra.jobspec._schema import FULL_NAME, load_message

    built = load_message(tmp_path)  # imports google-cloud-aiplatform and writes the cache
    (cache,) = tmp_path.glob("hyperparameter_tuning_job-*.pb")
    cached = load_message(tmp_path)  # protobuf alone, from the cache
    assert built is not None and cached is not None
    assert (
        built is not cached
        and cached.DESCRIPTOR.full_name == built.DESCRIPTOR.full_name == FULL_NAME
    )
    for raw in (job_with(maxTrialCnt=3), job_with(studySpec__algorithm="GRID")):
        texts = []
        for message in (built, cached):
            with pytest.raises(json_format.ParseError) as caught:
                json_format.ParseDict(raw, message())
            texts.append(str(caught.value))
        assert texts[0] == texts[1]
    cache.write_bytes(b"damaged")
    rebuilt = load_message(tmp_path)  # not a crash
    assert rebuilt is not None and rebuilt.DESCRIPTOR.full_name == FULL_NAME
    assert cache.read_bytes() != b"damaged"
