"""``conditionalParameterSpecs`` at any depth: the job model, its rules, sampling and the argv.

Real Optuna studies (in memory), the real aiplatform schema; the end-to-end runs of
``vertex-hydra local`` are in tests/test_local_conditional.py.
"""

from __future__ import annotations

import copy
from typing import Any

import optuna
import pytest

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec, rule_problems, schema_problems
from vertex_hydra.local.search import SearchSpace, make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

ACT = {
    "parameterId": "model.activation",
    "categoricalValueSpec": {"values": ["relu", "tanh", "gelu"]},
}
LAYERS = {"parameterId": "model.hidden_layers", "integerValueSpec": {"minValue": 1, "maxValue": 3}}
LR = {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1}}
BS = {"parameterId": "data.batch_size", "discreteValueSpec": {"values": [32, 64]}}
MOM = {"parameterId": "momentum", "doubleValueSpec": {"minValue": 0.1, "maxValue": 0.9}}


def _child(condition: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {**condition, "parameterSpec": copy.deepcopy(spec)}


def _tree() -> list[dict[str, Any]]:
    """act -> lr (relu), wd (tanh, gelu); layers -> bs (2, 3) -> momentum (64): depth 2."""
    bs = dict(BS, conditionalParameterSpecs=[
        _child({"parentDiscreteValues": {"values": [64]}}, MOM)])  # fmt: skip
    wd = {"parameterId": "wd", "discreteValueSpec": {"values": [0.0, 0.01]}}
    act = dict(ACT, conditionalParameterSpecs=[
        _child({"parentCategoricalValues": {"values": ["relu"]}}, LR),
        _child({"parentCategoricalValues": {"values": ["tanh", "gelu"]}}, wd)])  # fmt: skip
    layers = dict(LAYERS, conditionalParameterSpecs=[
        _child({"parentIntValues": {"values": [2, 3]}}, bs)])  # fmt: skip
    return [act, layers]


def _raw(parameters: list[dict[str, Any]], **study: Any) -> dict[str, Any]:
    return {
        "maxTrialCount": 40,
        "studySpec": {
            "metrics": [{"metricId": "score", "goal": "MAXIMIZE"}],
            "parameters": parameters,
            **study,
        },
        "trialJobSpec": {"workerPoolSpecs": [{
            "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": 1,
            "containerSpec": {"imageUri": "img", "command": ["python", "train.py"]}}]},
    }  # fmt: skip


def _expected_active(values: dict[str, Any]) -> set[str]:
    """The tree of :func:`_tree`, written out by hand."""
    active = {"model.activation", "model.hidden_layers"}
    if values.get("model.activation") == "relu":
        active.add("lr")
    if values.get("model.activation") in ("tanh", "gelu"):
        active.add("wd")
    if values.get("model.hidden_layers") in (2, 3):
        active.add("data.batch_size")
        if values.get("data.batch_size") == 64:
            active.add("momentum")
    return active


# --- the job model -------------------------------------------------------------------------


def test_the_model_holds_the_tree_in_pre_order_with_each_child_condition() -> None:
    job = JobSpec.from_dict(_raw(_tree()))
    assert [p.parameter_id for p in job.parameters] == [
        "model.activation", "lr", "wd", "model.hidden_layers", "data.batch_size", "momentum"]  # fmt: skip
    assert [p.parameter_id for p in job.roots] == ["model.activation", "model.hidden_layers"]
    by_id = {p.parameter_id: p for p in job.parameters}
    assert by_id["momentum"].parent == "data.batch_size"
    assert by_id["momentum"].parent_values == (64,)
    assert by_id["wd"].condition() == "model.activation in [tanh, gelu]"
    assert by_id["data.batch_size"].condition() == "model.hidden_layers in [2, 3]"
    assert by_id["model.hidden_layers"].children == (by_id["data.batch_size"],)
    assert job.conditional and not JobSpec.from_dict(_raw([LR])).conditional


@pytest.mark.parametrize(
    ("values", "active"),
    [
        ({"model.activation": "relu", "model.hidden_layers": 1}, ["model.activation", "lr", "model.hidden_layers"]),
        ({"model.activation": "gelu", "model.hidden_layers": 3.0, "data.batch_size": 32.0},
         ["model.activation", "wd", "model.hidden_layers", "data.batch_size"]),
        ({"model.activation": "tanh", "model.hidden_layers": 2, "data.batch_size": 64.00000000001},
         ["model.activation", "wd", "model.hidden_layers", "data.batch_size", "momentum"]),
        ({"model.activation": "tanh", "model.hidden_layers": 2, "data.batch_size": 64.001},
         ["model.activation", "wd", "model.hidden_layers", "data.batch_size"]),
        # a grandchild is inactive when its parent is, whatever the parent's stale value
        ({"model.activation": "relu", "model.hidden_layers": 1, "data.batch_size": 64},
         ["model.activation", "lr", "model.hidden_layers"]),
    ],
)  # fmt: skip
def test_active_parameters_walk_the_tree(values: dict[str, Any], active: list[str]) -> None:
    job = JobSpec.from_dict(_raw(_tree()))
    assert [p.parameter_id for p in job.active_parameters(values)] == active


def test_trial_argv_formats_each_active_parameter_as_vertex_does() -> None:
    job = JobSpec.from_dict(_raw(_tree()))
    values = {"model.activation": "tanh", "wd": 0.01, "model.hidden_layers": 2,
              "data.batch_size": 64, "momentum": 0.5}  # fmt: skip
    assert job.trial_argv(values, python="py")[2:] == [
        "--model.activation=tanh", "--wd=0.01", "--model.hidden_layers=2.0",
        "--data.batch_size=64.0", "--momentum=0.5"]  # fmt: skip


def test_children_sharing_an_id_under_disjoint_conditions_are_separate_specs() -> None:
    small = dict(LR, doubleValueSpec={"minValue": 0.001, "maxValue": 0.01})
    act = dict(ACT, conditionalParameterSpecs=[
        _child({"parentCategoricalValues": {"values": ["relu"]}}, LR),
        _child({"parentCategoricalValues": {"values": ["tanh"]}}, small)])  # fmt: skip
    raw = _raw([act])
    assert rule_problems(raw) == [] and schema_problems(raw) == []
    job = JobSpec.from_dict(raw)
    assert job.parameter_ids == ["model.activation", "lr"]
    (active,) = [p for p in job.active_parameters({"model.activation": "tanh"}) if p.parent]
    assert active.max_value == 0.01
    assert job.active_parameters({"model.activation": "gelu"}) == [job.parameters[0]]


def test_the_real_schema_accepts_the_tree_and_names_a_misspelt_child_field() -> None:
    raw = _raw(_tree())
    assert schema_problems(raw) == []
    raw["studySpec"]["parameters"][1]["conditionalParameterSpecs"][0]["parameterSpec"][
        "conditionalParameterSpecs"][0]["parentDiscreteValue"] = {"values": [64]}  # fmt: skip
    problems = schema_problems(raw)
    assert problems and "parentDiscreteValue" in problems[0]


def test_submit_sends_the_tree_unchanged() -> None:
    from vertex_hydra.cloud import build_request_body

    raw = _raw(_tree())
    body = build_request_body(raw, display_name="cond")
    assert body["studySpec"]["parameters"] == _numbers_as_sent(_tree())
    # the body parses back into the real message with the same tree
    from google.cloud.aiplatform_v1.types import HyperparameterTuningJob

    message = HyperparameterTuningJob.from_json(__import__("json").dumps(body))
    child = message.study_spec.parameters[1].conditional_parameter_specs[0]
    assert list(child.parent_int_values.values) == [2, 3]
    grandchild = child.parameter_spec.conditional_parameter_specs[0]
    assert list(grandchild.parent_discrete_values.values) == [64.0]
    assert grandchild.parameter_spec.parameter_id == "momentum"


def _numbers_as_sent(value: Any) -> Any:
    """The canonical JSON of a message: int64 as text, doubles as numbers (``64`` -> ``64.0``)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("parentIntValues", "integerValueSpec"):
                out[k] = {kk: [str(x) for x in vv] if isinstance(vv, list) else str(vv)
                          for kk, vv in v.items()}  # fmt: skip
            else:
                out[k] = _numbers_as_sent(v)
        return out
    if isinstance(value, list):
        return [_numbers_as_sent(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


# --- rules ---------------------------------------------------------------------------------


def _with_children(parent: dict[str, Any], *children: dict[str, Any]) -> dict[str, Any]:
    return _raw([dict(parent, conditionalParameterSpecs=list(children))])


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (_with_children(ACT, _child({"parentCategoricalValues": {"values": ["elu"]}}, LR)),
         r"^studySpec\.parameters\[0\]\.conditionalParameterSpecs\[0\] \(lr\): "
         r"parentCategoricalValues \['elu'\] lie outside the values of its parent "
         r"'model\.activation' \(\['relu', 'tanh', 'gelu'\]\)\. Fix: use values the parent can take\.$"),
        (_with_children(LAYERS, _child({"parentIntValues": {"values": [0, 2, 2.5]}}, LR)),
         r"parentIntValues \[0, 2\.5\] lie outside the values of its parent "
         r"'model\.hidden_layers' \(the integers 1\.\.3\)"),
        (_with_children(BS, _child({"parentDiscreteValues": {"values": [48]}}, LR)),
         r"parentDiscreteValues \[48\] lie outside .*\(\[32, 64\]\)"),
        (_with_children(ACT, _child({"parentIntValues": {"values": [1]}}, LR)),
         r"\(lr\): parentIntValues does not match the categoricalValueSpec of its parent "
         r"'model\.activation'\. Fix: write the condition as parentCategoricalValues"),
        (_with_children(LAYERS, _child({"parentDiscreteValues": {"values": [1]}}, LR)),
         r"the integerValueSpec of its parent 'model\.hidden_layers'\. Fix: write the condition as parentIntValues"),
        (_with_children(BS, _child({"parentIntValues": {"values": [32]}}, LR)),
         r"the discreteValueSpec of its parent 'data\.batch_size'\. Fix: write the condition as parentDiscreteValues"),
        (_with_children(LR, _child({"parentDiscreteValues": {"values": [0.01]}}, MOM)),
         r"^studySpec\.parameters\[0\] \(lr\): a DOUBLE parameter cannot have "
         r"conditionalParameterSpecs"),
        (_with_children(ACT, {"parentCategoricalValues": {"values": ["relu"]},
                              "parentIntValues": {"values": [1]}, "parameterSpec": LR}),
         r"needs exactly one of parentIntValues, parentDiscreteValues, parentCategoricalValues; "
         r"found \['parentIntValues', 'parentCategoricalValues'\]"),
        (_with_children(ACT, {"parameterSpec": LR}), r"\(lr\): needs exactly one of .*found none"),
        (_with_children(ACT, _child({"parentCategoricalValues": {"values": []}}, LR)),
         r"parentCategoricalValues\.values is empty, so the child is never active"),
        (_with_children(ACT, _child({"parentCategoricalValues": {"values": ["relu", "tanh"]}}, LR),
                        _child({"parentCategoricalValues": {"values": ["gelu", "tanh"]}}, LR)),
         r"^studySpec\.parameters\[0\]\.conditionalParameterSpecs\[1\] \(lr\): children \[0\] "
         r"and \[1\] share parameterId 'lr' and both activate on \['tanh'\]\. Fix: make their "
         r"parent values disjoint"),
        (_with_children(BS, _child({"parentDiscreteValues": {"values": [32]}}, LR),
                        _child({"parentDiscreteValues": {"values": [32.00000000001]}}, LR)),
         r"both activate on \[32\.00000000001\]"),
        (_with_children(ACT, {"parentCategoricalValues": {"values": ["relu"]}}),
         r"conditionalParameterSpecs\[0\]: parameterSpec is empty, not a mapping"),
        (_with_children(ACT, _child({"parentCategoricalValues": {"values": ["relu"]}},
                                    dict(LR, doubleValueSpec={"minValue": 1, "maxValue": 0}))),
         r"^studySpec\.parameters\[0\]\.conditionalParameterSpecs\[0\]\.parameterSpec \(lr\): "
         r"minValue 1 must be less than maxValue 0"),
    ],
)  # fmt: skip
def test_each_broken_condition_is_one_sentence_naming_the_child_and_the_fix(
    raw: dict[str, Any], match: str
) -> None:
    problems = rule_problems(raw)
    assert len(problems) == 1, problems
    with pytest.raises(ConfigurationError, match=match.lstrip("^").rstrip("$")):
        JobSpec.from_dict(raw)
    import re

    assert re.search(match, problems[0]), problems[0]


def test_rules_reach_a_grandchild_and_a_child_repeating_a_top_level_id() -> None:
    bad = dict(MOM, doubleValueSpec={"minValue": 0.1})  # maxValue missing
    bs = dict(BS, conditionalParameterSpecs=[
        _child({"parentDiscreteValues": {"values": [64, 128]}}, bad)])  # fmt: skip
    layers = dict(LAYERS, conditionalParameterSpecs=[
        _child({"parentIntValues": {"values": [2]}}, bs),
        _child({"parentIntValues": {"values": [3]}}, ACT)])  # fmt: skip
    problems = rule_problems(_raw([layers, ACT]))
    where = "studySpec.parameters[0].conditionalParameterSpecs[0].parameterSpec"
    assert problems == [
        f"{where}.conditionalParameterSpecs[0] (momentum): parentDiscreteValues [128] lie "
        "outside the values of its parent 'data.batch_size' ([32, 64]). Fix: use values the "
        "parent can take.",
        f"{where}.conditionalParameterSpecs[0].parameterSpec (momentum): minValue and maxValue "
        "must both be finite numbers, got 0.1 and None. Fix: set both bounds, e.g. "
        "{minValue: 1, maxValue: 4}.",
        "studySpec.parameters[0].conditionalParameterSpecs[1] (model.activation): parameterId "
        "'model.activation' is also a top-level parameter, so a trial would get it twice. "
        "Fix: rename the child, or drop one of the two.",
    ]


# --- sampling ------------------------------------------------------------------------------


def _study(job: JobSpec, seed: int) -> Any:
    return optuna.create_study(direction="maximize", sampler=make_sampler(job, seed=seed))


def _objective(values: dict[str, Any]) -> float:
    return (values.get("lr", 0.05) * 10 + values.get("momentum", 0.5)
            - 0.1 * values["model.hidden_layers"])  # fmt: skip


@pytest.mark.parametrize("algorithm", [None, "RANDOM_SEARCH"])
def test_a_child_is_sampled_iff_its_parent_value_activates_it(algorithm: str | None) -> None:
    job = JobSpec.from_dict(_raw(_tree(), **({"algorithm": algorithm} if algorithm else {})))
    space = SearchSpace(job.parameters, job.algorithm)
    study = _study(job, seed=3)
    seen: list[dict[str, Any]] = []
    for _ in range(40):
        trial = study.ask()
        values = space.sample(trial)
        assert set(values) == _expected_active(values), values
        assert set(trial.params) == set(values)  # Optuna holds exactly the active ones
        assert [p.parameter_id for p in job.active_parameters(values)] == list(values)
        study.tell(trial, _objective(values))
        seen.append(values)
    # every branch occurs, and each value lies in its spec
    assert {v["model.activation"] for v in seen} == {"relu", "tanh", "gelu"}
    assert {v["model.hidden_layers"] for v in seen} == {1, 2, 3}
    assert sum("momentum" in v for v in seen) >= 3 and sum("lr" in v for v in seen) >= 3
    assert all(0.001 <= v["lr"] <= 0.1 for v in seen if "lr" in v)
    assert all(v["data.batch_size"] in (32, 64) for v in seen if "data.batch_size" in v)
    assert all(isinstance(v["model.hidden_layers"], int) for v in seen)
    # the same seed gives the same study
    again = _study(job, seed=3)
    first = []
    for values in seen[:12]:
        trial = again.ask()
        first.append(space.sample(trial))
        again.tell(trial, _objective(first[-1]))
    assert first == seen[:12]


def test_grid_search_walks_the_tree_each_active_combination_once() -> None:
    wd = {"parameterId": "wd", "discreteValueSpec": {"values": [0.0, 0.01]}}
    act = dict(ACT, conditionalParameterSpecs=[_child(
        {"parentCategoricalValues": {"values": ["tanh", "gelu"]}}, wd)])  # fmt: skip
    mom = {"parameterId": "momentum", "discreteValueSpec": {"values": [0.5, 0.9]}}
    bs = dict(BS, conditionalParameterSpecs=[
        _child({"parentDiscreteValues": {"values": [64]}}, mom)])  # fmt: skip
    layers = dict(LAYERS, conditionalParameterSpecs=[
        _child({"parentIntValues": {"values": [2, 3]}}, bs)])  # fmt: skip
    job = JobSpec.from_dict(_raw([act, layers], algorithm="GRID_SEARCH"))
    space = SearchSpace(job.parameters, job.algorithm)
    # by hand: act (relu | tanh x2 | gelu x2) = 5; layers (1 | 2,3 x (32 | 64 x 2)) = 1 + 2*3 = 7
    expected = []
    for a in ("relu", "tanh", "gelu"):
        for w in (None,) if a == "relu" else (0.0, 0.01):
            for n in (1, 2, 3):
                for b in (None,) if n == 1 else (32, 64):
                    for m in (0.5, 0.9) if b == 64 else (None,):
                        point = {"model.activation": a, "wd": w, "model.hidden_layers": n,
                                 "data.batch_size": b, "momentum": m}  # fmt: skip
                        expected.append({k: v for k, v in point.items() if v is not None})
    assert space.grid_size() == len(expected) == 35
    study = _study(job, seed=0)
    visited = []
    for _ in range(space.grid_size()):
        trial = study.ask()
        values = space.sample(trial)
        assert set(trial.params) == set(values)
        study.tell(trial, 1.0)
        visited.append(values)
    key = lambda d: sorted(d.items())  # noqa: E731
    assert sorted(map(key, visited)) == sorted(map(key, expected))


def test_grid_size_counts_the_tree_before_the_size_limit() -> None:
    big = {"parameterId": "big", "integerValueSpec": {"minValue": 1, "maxValue": 1000}}
    act = dict(ACT, conditionalParameterSpecs=[
        _child({"parentCategoricalValues": {"values": ["relu"]}}, big),
        _child({"parentCategoricalValues": {"values": ["tanh"]}}, big)])  # fmt: skip
    job = JobSpec.from_dict(_raw([act, dict(big, parameterId="b2")], algorithm="GRID_SEARCH"))
    # (1000 + 1000 + 1) * 1000 points: a product of every value would be 3e9
    assert SearchSpace(job.parameters, None).grid_size() == 2_001_000
    with pytest.raises(ConfigurationError, match="GRID_SEARCH grid has 2001000 points"):
        make_sampler(job)


def test_children_sharing_an_id_get_distinct_optuna_names_and_map_back() -> None:
    small = {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.5, "maxValue": 0.6},
             "scaleType": "UNIT_REVERSE_LOG_SCALE"}  # fmt: skip
    act = dict(ACT, conditionalParameterSpecs=[
        _child({"parentCategoricalValues": {"values": ["relu"]}}, LR),
        _child({"parentCategoricalValues": {"values": ["tanh", "gelu"]}}, small)])  # fmt: skip
    job = JobSpec.from_dict(_raw([act], algorithm="RANDOM_SEARCH"))
    space = SearchSpace(job.parameters, job.algorithm)
    assert sorted(space.distributions()) == [
        "lr (reversed)|model.activation=tanh,gelu", "lr|model.activation=relu", "model.activation"]  # fmt: skip
    study = _study(job, seed=1)
    for _ in range(30):
        trial = study.ask()
        values = space.sample(trial)
        assert set(values) == {"model.activation", "lr"}
        assert (
            (0.001 <= values["lr"] <= 0.1)
            if values["model.activation"] == "relu"
            else (0.5 <= values["lr"] <= 0.6)
        )
        study.tell(trial, 0.0)


def test_an_enqueued_rerun_replays_its_active_parameters() -> None:
    job = JobSpec.from_dict(_raw(_tree()))
    space = SearchSpace(job.parameters, job.algorithm)
    study = _study(job, seed=0)
    trial = study.ask()
    values = space.sample(trial)
    study.tell(trial, 1.0)
    study.enqueue_trial(dict(study.trials[0].params))
    again = study.ask()
    assert space.sample(again) == values


# --- results of a Vertex job with conditional parameters ------------------------------------


def _vertex_trial(tid: str, acc: float, **values: Any) -> dict[str, Any]:
    return {"id": tid, "state": "SUCCEEDED",
            "parameters": [{"parameterId": k.replace("_", ".", 1), "value": v} for k, v in values.items()],
            "finalMeasurement": {"stepCount": "1", "metrics": [{"metricId": "score", "value": acc}]}}  # fmt: skip


def test_results_of_a_vertex_job_leave_inactive_children_blank(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv
    import json

    from vertex_fake import serve_fake_vertex

    from vertex_hydra.cli import main
    from vertex_hydra.cloud import build_request_body
    from vertex_hydra.cloud._api import ANONYMOUS_ENV, ENDPOINT_ENV
    from vertex_hydra.cloud._results import job_to_results
    from vertex_hydra.results.plots import parameter_figure

    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    monkeypatch.setenv(ANONYMOUS_ENV, "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    name = "projects/proj/locations/us-central1/hyperparameterTuningJobs/77"
    body = build_request_body(_raw(_tree()), display_name="cond")
    trials = [
        _vertex_trial("1", 0.5, model_activation="relu", lr=0.01, model_hidden_layers=1.0),
        _vertex_trial("2", 0.6, model_activation="tanh", wd=0.01, model_hidden_layers=2.0,
                      data_batch_size=64.0, momentum=0.5),
        _vertex_trial("3", 0.7, model_activation="gelu", wd=0.0, model_hidden_layers=3.0,
                      data_batch_size=32.0),
    ]  # fmt: skip
    job = {**body, "state": "JOB_STATE_SUCCEEDED", "trials": trials}
    with serve_fake_vertex() as vertex:
        vertex.add_job(name, json.loads(json.dumps(job)))
        workdir = tmp_path / "out"
        assert main(["results", name, "--workdir", str(workdir), "--api-endpoint", vertex.url]) == 0
    shown = capsys.readouterr().out
    with (workdir / "trials.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["lr"], r["wd"], r["data.batch_size"], r["momentum"]) for r in rows] == [
        ("0.01", "", "", ""), ("", "0.01", "64", "0.5"), ("", "0", "32", "")]  # fmt: skip
    header, *lines = [
        line for line in shown.splitlines() if line.startswith(("trial", "1 ", "2 ", "3 "))
    ][:4]
    assert header.split()[:8] == ["trial", "state", "model.activation", "lr", "wd",
                                  "model.hidden_layers", "data.batch_size", "momentum"]  # fmt: skip
    column = header.index("momentum")
    assert [line[column : column + 8].strip() for line in lines] == ["", "0.5", ""]
    assert (workdir / "plots" / "param_momentum.png").exists() or any(
        p.name == "param_momentum.png" for p in workdir.rglob("*.png")
    )
    # each child's plot holds only the trials where it was active
    results = job_to_results(json.loads(json.dumps(job)))
    by_id = {p.parameter_id: p for p in results.parameters}
    for pid, count in (("lr", 1), ("wd", 2), ("momentum", 1), ("model.activation", 3)):
        fig = parameter_figure(by_id[pid], results.metrics, results.trials)
        points = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
        assert points == count, pid


# --- check probes every child with its parent set to activate it ----------------------------

_PLAIN_CHILDREN = [
    {"parameterId": "model.act", "categoricalValueSpec": {"values": ["relu", "gelu"]},
     "conditionalParameterSpecs": [
         {"parentCategoricalValues": {"values": ["relu"]}, "parameterSpec": {
             "parameterId": "model.lr", "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1}}},
         {"parentCategoricalValues": {"values": ["gelu"]}, "parameterSpec": {
             "parameterId": "model.depth", "integerValueSpec": {"minValue": 1, "maxValue": 4},
             "conditionalParameterSpecs": [
                 {"parentIntValues": {"values": [3]}, "parameterSpec": {
                     "parameterId": "data.batch_size", "discreteValueSpec": {"values": [16, 64]}}}]}}]},
]  # fmt: skip


def _plain_job(tmp_path: Any, parameters: list[dict[str, Any]]) -> Any:
    import yaml

    from vertex_hydra.jobspec import load_job

    raw = _raw(parameters)
    app = __import__("pathlib").Path(__file__).resolve().parent / "apps" / "plain_app.py"
    raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["command"] = ["python", str(app)]
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, load_job(path)


def test_check_batches_pass_each_child_under_an_activating_parent_and_never_inactive(
    tmp_path: Any,
) -> None:
    from vertex_hydra.check._compose import _probe_batches, probes_for

    _, job = _plain_job(tmp_path, _PLAIN_CHILDREN)
    params = {p.parameter_id: p for p in job.columns}
    probes = {pid: probes_for(p) for pid, p in params.items()}
    probes["model.depth"].append(3)  # what compose_rows adds: a value that activates the child
    batches = _probe_batches(job, params, probes)
    assert batches == [
        {"model.act": "relu", "model.lr": 0.001},
        {"model.act": "gelu", "model.depth": 4},
        {"model.act": "relu", "model.lr": 0.1},
        {"model.act": "gelu", "model.depth": 3, "data.batch_size": 64},
        {"model.act": "gelu", "model.depth": 1},
        {"model.act": "gelu", "model.depth": 3, "data.batch_size": 16},
    ]
    for batch in batches:  # each argv holds exactly the active parameters
        assert [p.parameter_id for p in job.active_parameters(batch)] == list(batch)


def test_check_probes_children_and_names_their_condition(tmp_path: Any) -> None:
    from vertex_hydra.check import check_job
    from vertex_hydra.check._cli import format_report

    path, _ = _plain_job(tmp_path, _PLAIN_CHILDREN)
    result = check_job(path)
    assert result.ok, result.problems
    rows = {r.parameter_id: r for r in result.rows}
    assert rows["model.lr"].label == "model.lr (when model.act in [relu])"
    assert rows["model.lr"].received == (0.001, 0.1)
    assert rows["model.depth"].received == (1, 4, 3)
    assert rows["data.batch_size"].label == "data.batch_size (when model.depth in [3])"
    assert rows["data.batch_size"].received == (16, 64)
    report = format_report(result, color=False)
    assert "model.lr (when model.act in [relu])" in report
    assert "data.batch_size (when model.depth in [3])" in report


def test_check_finds_a_misspelt_child(tmp_path: Any) -> None:
    from vertex_hydra.check import check_job

    broken = copy.deepcopy(_PLAIN_CHILDREN)
    broken[0]["conditionalParameterSpecs"][1]["parameterSpec"]["conditionalParameterSpecs"][0][
        "parameterSpec"]["parameterId"] = "data.batch_sz"  # fmt: skip
    path, _ = _plain_job(tmp_path, broken)
    result = check_job(path)
    assert not result.ok
    rows = {r.parameter_id: r for r in result.rows}
    assert rows["data.batch_sz"].status == "key missing; did you mean data.batch_size?"
    assert rows["model.lr"].status == "OK" and rows["model.depth"].status == "OK"


def test_the_study_env_gives_every_child_its_value_type() -> None:
    from vertex_hydra.study_env import STUDY_ENV, read_study

    job = JobSpec.from_dict(_raw(_tree()))
    env = job.trial_env("1", metric_file="m")
    info = read_study({STUDY_ENV: env[STUDY_ENV]})
    assert info is not None
    assert info.value_types() == {
        "model.activation": "text", "lr": "float", "wd": "float", "model.hidden_layers": "int",
        "data.batch_size": "int", "momentum": "float"}  # fmt: skip


def test_resume_fields_tell_children_sharing_an_id_apart() -> None:
    from vertex_hydra.local.store import changed_fields, job_fields

    def job(high: float) -> JobSpec:
        small = dict(LR, doubleValueSpec={"minValue": 0.001, "maxValue": high})
        act = dict(ACT, conditionalParameterSpecs=[
            _child({"parentCategoricalValues": {"values": ["relu"]}}, small),
            _child({"parentCategoricalValues": {"values": ["tanh"]}}, LR)])  # fmt: skip
        return JobSpec.from_dict(_raw([act]))

    before, after = job_fields(job(0.01)), job_fields(job(0.02))
    where = "studySpec.parameters[model.activation].conditionalParameterSpecs[lr|relu]"
    assert before[f"{where}.maxValue"] == 0.01
    assert changed_fields(before, after) == [f"{where}.maxValue (0.01 → 0.02)"]


# --- children sharing a parameterId under disjoint conditions --------------------------------


def _shared(first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """model.act -> one ``model.lr`` child under relu, another under gelu."""
    return [{"parameterId": "model.act", "categoricalValueSpec": {"values": ["relu", "gelu"]},
             "conditionalParameterSpecs": [
                 {"parentCategoricalValues": {"values": ["relu"]},
                  "parameterSpec": {"parameterId": "model.lr", **first}},
                 {"parentCategoricalValues": {"values": ["gelu"]},
                  "parameterSpec": {"parameterId": "model.lr", **second}}]}]  # fmt: skip


def test_check_probes_each_child_sharing_an_id_with_its_own_values(tmp_path: Any) -> None:
    from vertex_hydra.check import check_job
    from vertex_hydra.check._cli import format_report

    low = {"doubleValueSpec": {"minValue": 0.001, "maxValue": 0.01}}
    high = {"doubleValueSpec": {"minValue": 0.05, "maxValue": 0.1}}
    path, _ = _plain_job(tmp_path, _shared(low, high))
    result = check_job(path)
    assert result.ok, result.problems
    assert result.warnings == ()
    rows = {r.label: r for r in result.rows}
    assert rows["model.lr (when model.act in [relu])"].received == (0.001, 0.01)
    assert rows["model.lr (when model.act in [gelu])"].received == (0.05, 0.1)
    assert rows["model.act"].received == ("relu", "gelu")
    report = format_report(result, color=False)
    assert "model.lr (when model.act in [relu])" in report
    assert "model.lr (when model.act in [gelu])" in report


def test_children_sharing_an_id_with_different_types_are_warned_and_get_one_type(
    tmp_path: Any,
) -> None:
    from vertex_hydra.check import check_job
    from vertex_hydra.study_env import STUDY_ENV, read_study

    ints = {"integerValueSpec": {"minValue": 1, "maxValue": 4}}
    floats = {"doubleValueSpec": {"minValue": 0.5, "maxValue": 1.5}}
    path, job = _plain_job(tmp_path, _shared(ints, floats))
    info = read_study({STUDY_ENV: job.study_env_value()})
    assert info is not None and info.value_types()["model.lr"] == "float"
    result = check_job(path)
    (warning,) = result.warnings
    assert warning.subject == "model.lr"
    assert "INTEGER when model.act in [relu], DOUBLE when model.act in [gelu]" in warning.message
    assert "receives a float value" in warning.message and "Fix:" in warning.message
    rows = {r.label: r for r in result.rows}
    # what the config gets under each condition, as Vertex sends it: '--model.lr=1.0' stays 1.0
    assert rows["model.lr (when model.act in [relu])"].received == (1.0, 4.0)
    assert rows["model.lr (when model.act in [gelu])"].received == (0.5, 1.5)


@pytest.mark.parametrize(
    ("first", "second", "kind", "low", "high", "values"),
    [
        ({"doubleValueSpec": {"minValue": 0.01, "maxValue": 0.2}},
         {"doubleValueSpec": {"minValue": 0.1, "maxValue": 0.5}}, "DOUBLE", 0.01, 0.5, ()),
        ({"integerValueSpec": {"minValue": 2, "maxValue": 3}},
         {"discreteValueSpec": {"values": [1, 8]}}, "INTEGER", 1, 8, ()),
        ({"discreteValueSpec": {"values": [16, 64]}},
         {"discreteValueSpec": {"values": [16, 32]}}, "DISCRETE", None, None, (16.0, 32.0, 64.0)),
        ({"categoricalValueSpec": {"values": ["a", "b"]}},
         {"discreteValueSpec": {"values": [0.5]}}, "CATEGORICAL", None, None, ("a", "b", "0.5")),
    ],
)  # fmt: skip
def test_a_shared_id_makes_one_results_column_covering_every_child(
    first: dict[str, Any], second: dict[str, Any], kind: str, low: Any, high: Any, values: Any
) -> None:
    job = JobSpec.from_dict(_raw(_shared(first, second)))
    assert [p.parameter_id for p in job.columns] == ["model.act", "model.lr"]
    column = job.columns[1]
    assert (column.kind, column.min_value, column.max_value, column.values) == (
        kind, low, high, values)  # fmt: skip
    assert len([p for p in job.parameters if p.parameter_id == "model.lr"]) == 2  # tree unchanged
