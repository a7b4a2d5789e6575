"""The Optuna view of a Vertex study: distributions, scales (reverse log too), samplers, grid."""

from __future__ import annotations

import statistics

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec, MetricSpec, ParameterSpec
from vertex_hydra.local.search import MAX_GRID_SIZE, SearchSpace, directions, make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _job(
    parameters: list[dict], algorithm: str | None = None, metrics=None, trials: int = 20
) -> JobSpec:
    study = {
        "metrics": metrics or [{"metricId": "y", "goal": "MAXIMIZE"}],
        "parameters": parameters,
    }
    if algorithm:
        study["algorithm"] = algorithm
    return JobSpec.from_dict(
        {
            "maxTrialCount": trials,
            "studySpec": study,
            "trialJobSpec": {
                "workerPoolSpecs": [
                    {"containerSpec": {"imageUri": "i", "command": ["python", "t.py"]}}
                ]
            },
        }
    )


@pytest.mark.parametrize(
    ("spec", "name", "expected"),
    [
        (ParameterSpec("lr", "DOUBLE", 0.1, 0.9), "lr", FloatDistribution(0.1, 0.9)),
        (
            ParameterSpec("lr", "DOUBLE", 1e-5, 1e-1, scale_type="UNIT_LINEAR_SCALE"),
            "lr",
            FloatDistribution(1e-5, 1e-1),
        ),
        (
            ParameterSpec("lr", "DOUBLE", 1e-5, 1e-1, scale_type="UNIT_LOG_SCALE"),
            "lr",
            FloatDistribution(1e-5, 1e-1, log=True),
        ),
        (
            ParameterSpec("m", "DOUBLE", 0.5, 0.999, scale_type="UNIT_REVERSE_LOG_SCALE"),
            "m (reversed)",
            FloatDistribution(0.5, 0.999, log=True),
        ),
        (ParameterSpec("d", "INTEGER", 1, 8), "d", IntDistribution(1, 8)),
        (
            ParameterSpec("d", "INTEGER", 1, 64, scale_type="UNIT_LOG_SCALE"),
            "d",
            IntDistribution(1, 64, log=True),
        ),
        (
            ParameterSpec("d", "INTEGER", 1, 64, scale_type="UNIT_REVERSE_LOG_SCALE"),
            "d (reversed)",
            IntDistribution(1, 64, log=True),
        ),
        (
            ParameterSpec("bs", "DISCRETE", values=(32, 64, 128)),
            "bs",
            CategoricalDistribution([32, 64, 128]),
        ),
        (
            ParameterSpec("act", "CATEGORICAL", values=("relu", "gelu new")),
            "act",
            CategoricalDistribution(["relu", "gelu new"]),
        ),
    ],
)
def test_distribution_per_kind_and_scale(spec: ParameterSpec, name: str, expected: object) -> None:
    assert SearchSpace((spec,), None).distributions() == {name: expected}


def test_grid_ignores_scale_and_keeps_the_parameter_id() -> None:
    spec = ParameterSpec("d", "INTEGER", 1, 4, scale_type="UNIT_REVERSE_LOG_SCALE")
    space = SearchSpace((spec,), "GRID_SEARCH")
    assert space.distributions() == {"d": IntDistribution(1, 4)}
    assert space.to_vertex({"d": 2}) == {"d": 2}


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 1e3), st.floats(1.0001, 1e4), st.floats(0, 1))
def test_reverse_log_maps_into_the_bounds_and_back(low: float, ratio: float, u: float) -> None:
    high = low * ratio
    spec = ParameterSpec("p", "DOUBLE", low, high, scale_type="UNIT_REVERSE_LOG_SCALE")
    y = low + u * (high - low)
    x = SearchSpace((spec,), None).to_vertex({"p (reversed)": y})["p"]
    assert low <= x <= high
    assert x == pytest.approx(low + high - y, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("scale", "crowded_near_max"), [("UNIT_REVERSE_LOG_SCALE", True), ("UNIT_LOG_SCALE", False)]
)
def test_reverse_log_samples_crowd_near_max(scale: str, crowded_near_max: bool) -> None:
    job = _job(
        [
            {
                "parameterId": "m",
                "scaleType": scale,
                "doubleValueSpec": {"minValue": 0.001, "maxValue": 1.0},
            }
        ],
        "RANDOM_SEARCH",
    )
    space = SearchSpace(job.parameters, job.algorithm)
    study = optuna.create_study(sampler=make_sampler(job, seed=0))
    xs = [space.to_vertex(study.ask(space.distributions()).params)["m"] for _ in range(400)]
    assert all(0.001 <= x <= 1.0 for x in xs)
    # Log-uniform in y = 1.001 - x: the median of x sits near 1.001 - sqrt(0.001 * 1.0) ~ 0.97.
    assert (statistics.median(xs) > 0.9) is crowded_near_max


def test_integer_reverse_log_values_are_integers_in_range() -> None:
    job = _job(
        [
            {
                "parameterId": "n",
                "scaleType": "UNIT_REVERSE_LOG_SCALE",
                "integerValueSpec": {"minValue": 1, "maxValue": 100},
            }
        ],
        "RANDOM_SEARCH",
    )
    space = SearchSpace(job.parameters, job.algorithm)
    study = optuna.create_study(sampler=make_sampler(job, seed=1))
    ns = [space.to_vertex(study.ask(space.distributions()).params)["n"] for _ in range(300)]
    assert all(isinstance(n, int) and 1 <= n <= 100 for n in ns)
    assert sum(n > 90 for n in ns) > sum(n <= 10 for n in ns)


def test_grid_search_visits_every_point_once_in_order() -> None:
    job = _job(
        [
            {"parameterId": "d", "integerValueSpec": {"minValue": 1, "maxValue": 3}},
            {"parameterId": "act", "categoricalValueSpec": {"values": ["a", "b"]}},
        ],
        "GRID_SEARCH",
    )
    space = SearchSpace(job.parameters, job.algorithm)
    assert space.grid() == {"d": [1, 2, 3], "act": ["a", "b"]}
    assert space.grid_size() == 6
    study = optuna.create_study(sampler=make_sampler(job, seed=0), direction="maximize")
    seen = []
    for _ in range(6):
        trial = study.ask(space.distributions())
        seen.append(tuple(space.to_vertex(trial.params).values()))
        study.tell(trial, 0.0)
    # Parameters sorted by id (act, d), the last varying fastest, whatever the seed.
    assert seen == [(1, "a"), (2, "a"), (3, "a"), (1, "b"), (2, "b"), (3, "b")]


def test_random_search_is_reproducible_with_a_seed() -> None:
    job = _job(
        [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}}], "RANDOM_SEARCH"
    )
    space = SearchSpace(job.parameters, job.algorithm)

    def draw(seed: int) -> list[float]:
        study = optuna.create_study(sampler=make_sampler(job, seed=seed))
        return [study.ask(space.distributions()).params["x"] for _ in range(5)]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)
    assert isinstance(make_sampler(job), optuna.samplers.RandomSampler)


def test_bayesian_default_is_tpe_and_beats_random_on_a_smooth_function() -> None:
    params = [
        {"parameterId": "x", "doubleValueSpec": {"minValue": -5, "maxValue": 5}},
        {
            "parameterId": "lr",
            "scaleType": "UNIT_LOG_SCALE",
            "doubleValueSpec": {"minValue": 1e-5, "maxValue": 1},
        },
    ]
    import math

    def best_after(algorithm: str | None, seed: int) -> float:
        job = _job(params, algorithm, trials=40)
        space = SearchSpace(job.parameters, job.algorithm)
        study = optuna.create_study(sampler=make_sampler(job, seed=seed), direction="maximize")
        for _ in range(40):
            trial = study.ask(space.distributions())
            v = space.to_vertex(trial.params)
            study.tell(trial, -((v["x"] - 1.3) ** 2) - (math.log10(v["lr"]) + 3) ** 2)
        return study.best_value

    assert isinstance(make_sampler(_job(params)), optuna.samplers.TPESampler)
    seeds = range(5)
    tpe = statistics.median(best_after(None, s) for s in seeds)
    rnd = statistics.median(best_after("RANDOM_SEARCH", s) for s in seeds)
    assert tpe > rnd


def test_directions_follow_the_goals() -> None:
    assert directions([MetricSpec("a", "MAXIMIZE"), MetricSpec("b", "MINIMIZE")]) == [
        "maximize",
        "minimize",
    ]


def test_grid_search_rejects_double_parameters() -> None:
    with pytest.raises(
        ConfigurationError, match=r"GRID_SEARCH cannot tune DOUBLE parameters, got \['lr'\]"
    ):
        SearchSpace((ParameterSpec("lr", "DOUBLE", 0.1, 0.2),), "GRID_SEARCH")


def test_grid_search_rejects_a_huge_grid() -> None:
    big = (ParameterSpec("a", "INTEGER", 0, 10_000), ParameterSpec("b", "INTEGER", 0, 10_000))
    with pytest.raises(ConfigurationError, match=rf"more than {MAX_GRID_SIZE}\. Fix: narrow"):
        SearchSpace(big, "GRID_SEARCH")


def test_unknown_algorithm_is_refused_with_the_fix() -> None:
    with pytest.raises(
        ConfigurationError, match=r"algorithm 'SIMULATED_ANNEALING' is not supported"
    ):
        SearchSpace((ParameterSpec("a", "INTEGER", 0, 1),), "SIMULATED_ANNEALING")
