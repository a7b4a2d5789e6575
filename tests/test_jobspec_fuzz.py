"""Mutated job files never end in a traceback: every problem is one sentence ending in a Fix.

A few hundred job files, each the valid fixture with a few mutations (a field deleted, a
type swapped, an odd number such as ``.inf``, ``-0``, ``1e400`` or a huge int, odd text,
a list where a mapping belongs and back), go through everything ``check``'s job-file stage
calls: :func:`read_job_file` on a written file, :func:`schema_problems`,
:func:`rule_problems` and :meth:`JobSpec.from_dict`. A sample also goes through the real
``python -m vertex_hydra check`` in a subprocess. The mutations come from a seeded
``random.Random``, so every run sees the same files and a failure names its seed.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec, read_job_file, rule_problems, schema_problems

VALID: dict[str, Any] = {
    "displayName": "fuzz",
    "maxTrialCount": 6,
    "parallelTrialCount": 2,
    "maxFailedTrialCount": 1,
    "studySpec": {
        "metrics": [{"metricId": "val_loss", "goal": "MINIMIZE"}],
        "parameters": [
            {"parameterId": "model.lr", "scaleType": "UNIT_LOG_SCALE",
             "doubleValueSpec": {"minValue": 1e-6, "maxValue": 1e-3}},
            {"parameterId": "data.batch_size", "discreteValueSpec": {"values": [32, 64, 128]}},
            {"parameterId": "model.act", "categoricalValueSpec": {"values": ["relu", "gelu"]}},
            {"parameterId": "model.depth", "scaleType": "UNIT_LINEAR_SCALE",
             "integerValueSpec": {"minValue": 1, "maxValue": 4}},
        ],
        "algorithm": "RANDOM_SEARCH",
        "measurementSelectionType": "BEST_MEASUREMENT",
        "medianAutomatedStoppingSpec": {"useElapsedDuration": False},
    },
    "trialJobSpec": {
        "baseOutputDirectory": {"outputUriPrefix": "gs://bucket/hpt/"},
        "workerPoolSpecs": [{
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": 1,
            "containerSpec": {"imageUri": "europe-docker.pkg.dev/p/r/img:tag",
                              "command": ["python", "train.py"], "args": ["x=1"],
                              "env": [{"name": "A", "value": "1"}]},
        }],
    },
}  # fmt: skip

ODD_VALUES: list[Any] = [
    None, True, False, 0, -0.0, 1, -1, 2**63, -(2**63) - 1, 10**400, 1e308,
    float("inf"), float("-inf"), float("nan"), 1e-320, 0.5, "", " ", "1", "1e400",
    ".inf", "-0", "0x10", "007", "nan", "é\u200b", "a\nb", "x" * 300, "\x00",
    [], [1, 2], ["a"], [{}], [None], {}, {"a": 1}, {"values": []},
    "MAXIMIZE", "GRID_SEARCH", "UNIT_LOG_SCALE", "2024-01-01T00:00:00Z", "5s",
]  # fmt: skip
SEEDS = range(300)
SUBPROCESS_SEEDS = range(0, 300, 50)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node`` (keys of mappings, indexes of lists)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _swap_shape(value: Any) -> Any:
    """A list for a mapping, a mapping for a list, text for a number and back."""
    if isinstance(value, dict):
        return list(value.values()) or [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, str):
        return [value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return {"value": value}


def mutate(seed: int) -> dict[str, Any]:
    """The valid job with one to four seeded mutations."""
    rng = random.Random(seed)
    raw = copy.deepcopy(VALID)
    for _ in range(rng.randint(1, 4)):
        paths = _paths(raw)
        if not paths:
            break
        path = rng.choice(paths)
        parent, last = _get(raw, path[:-1]), path[-1]
        action = rng.random()
        if action < 0.25:
            del parent[last]
        elif action < 0.5:
            parent[last] = _swap_shape(parent[last])
        elif action < 0.9:
            parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "minValue", "values", "env", "imageUri"])] = rng.choice(
                ODD_VALUES
            )
    return raw


def _yaml_text(raw: dict[str, Any]) -> str:
    # Huge ints and non-finite floats as YAML writes them (.inf, .nan): what a user types.
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


def _assert_sentences(problems: list[str] | None, seed: int) -> None:
    for problem in problems or []:
        assert isinstance(problem, str), (seed, problem)
        assert "\n" not in problem, (seed, problem)
        assert "Fix:" in problem, (seed, problem)


@pytest.mark.parametrize("seed", SEEDS)
def test_job_file_stage_never_raises_anything_but_one_sentence(seed: int, tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(_yaml_text(mutate(seed)), encoding="utf-8")
    try:
        raw = read_job_file(path)
    except ConfigurationError as error:
        _assert_sentences([str(error)], seed)
        return
    schema = schema_problems(raw)
    _assert_sentences(schema, seed)
    rules = rule_problems(raw)
    _assert_sentences(rules, seed)
    try:
        job = JobSpec.from_dict(raw, path=path)
    except ConfigurationError as error:
        assert rules, (seed, "from_dict refused a job that rule_problems accepted", error)
        for line in str(error).split("\n  - ")[1:]:
            _assert_sentences([line], seed)
        return
    assert not rules, (seed, rules)
    # What check and local then ask of the job must hold too.
    job.study_env_value()
    for parameter in job.parameters:
        for value in parameter.probe_values():
            parameter.vertex_arg(value)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SUBPROCESS_SEEDS)
def test_check_command_on_a_mutated_file_prints_sentences(seed: int, tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    raw = mutate(seed)
    # The trial command must not really compose anything: point it at a missing script.
    path.write_text(_yaml_text(raw), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "check", str(path), "--json", "--timeout", "30"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, (seed, done.stderr)
    assert done.returncode in (0, 1, 2), (seed, done.returncode, done.stderr)
    if done.returncode == 2:
        assert done.stderr.count("\n") == 1 and "Fix:" in done.stderr, (seed, done.stderr)
    else:
        result = json.loads(done.stdout)
        for problem in result["problems"]:
            if problem.get("stage") == "job file":
                _assert_sentences([problem["message"]], seed)
