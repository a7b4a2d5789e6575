"""Vertex AI's search space and algorithms, expressed with Optuna.

A :class:`SearchSpace` turns ``studySpec.parameters`` into Optuna
distributions, and Optuna's sampled values back into the values Vertex AI
would pass; :func:`make_sampler` picks the sampler that stands in for
``studySpec.algorithm``:

* unset (Vertex: Bayesian optimisation with Vizier) -> Optuna's multivariate
  TPE sampler with the constant liar, so parallel trials do not all probe the
  same point;
* ``RANDOM_SEARCH`` -> :class:`optuna.samplers.RandomSampler`;
* ``GRID_SEARCH`` -> :class:`optuna.samplers.GridSampler` over every INTEGER in
  its range and every DISCRETE and CATEGORICAL value, each point once, in
  order (parameters sorted by id, the last one varying fastest); the study
  ends when the grid is exhausted. ``--seed`` does not change a grid.

Scales: ``UNIT_LINEAR_SCALE`` (or unset) samples uniformly, ``UNIT_LOG_SCALE``
log-uniformly. Optuna has no reverse-log scale, so ``UNIT_REVERSE_LOG_SCALE``
samples ``y = min + max - x`` log-uniformly in ``[min, max]`` and passes
``x = min + max - y``: values crowd near ``max`` as on Vertex. Optuna then
stores ``y`` under the name ``"<parameterId> (reversed)"``. DISCRETE values are
categorical choices for Optuna (their order is not used). Several metrics make
a multi-objective study.

Example:
    >>> from vertex_hydra.jobspec import ParameterSpec
    >>> p = ParameterSpec("momentum", "DOUBLE", 1, 100, scale_type="UNIT_REVERSE_LOG_SCALE")
    >>> space = SearchSpace((p,), algorithm=None)
    >>> space.to_vertex({"momentum (reversed)": 10.0})
    {'momentum': 91.0}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec, MetricSpec, ParameterSpec

__all__ = ["MAX_GRID_SIZE", "SearchSpace", "directions", "make_sampler"]

#: GRID_SEARCH refuses grids larger than this (Optuna lists every point in memory).
MAX_GRID_SIZE = 1_000_000
_ALGORITHMS = (None, "RANDOM_SEARCH", "GRID_SEARCH")


def _reversed(p: ParameterSpec) -> bool:
    return p.kind in ("DOUBLE", "INTEGER") and p.scale_type == "UNIT_REVERSE_LOG_SCALE"


class SearchSpace:
    """The Optuna view of ``studySpec.parameters`` for one algorithm.

    Args:
        parameters: The study's parameters.
        algorithm: ``studySpec.algorithm`` (``None`` for Bayesian optimisation).

    Raises:
        ConfigurationError: The algorithm is unknown, or GRID_SEARCH meets a
            DOUBLE parameter or a grid of more than :data:`MAX_GRID_SIZE` points.

    Example:
        >>> space = SearchSpace((ParameterSpec("depth", "INTEGER", 1, 3),), "GRID_SEARCH")
        >>> space.grid(), space.grid_size()
        ({'depth': [1, 2, 3]}, 3)
    """

    def __init__(self, parameters: Sequence[ParameterSpec], algorithm: str | None) -> None:
        if algorithm not in _ALGORITHMS:
            raise ConfigurationError(
                f"studySpec.algorithm {algorithm!r} is not supported locally. "
                "Fix: leave it unset (Bayesian optimisation), or use RANDOM_SEARCH or GRID_SEARCH."
            )
        self.parameters = tuple(parameters)
        self.algorithm = algorithm
        if algorithm == "GRID_SEARCH":
            doubles = [p.parameter_id for p in self.parameters if p.kind == "DOUBLE"]
            if doubles:
                raise ConfigurationError(
                    f"GRID_SEARCH cannot tune DOUBLE parameters, got {doubles}. Fix: give "
                    "them a discreteValueSpec with the values to try, or unset algorithm."
                )
            if self.grid_size() > MAX_GRID_SIZE:
                raise ConfigurationError(
                    f"GRID_SEARCH grid has {self.grid_size()} points, more than "
                    f"{MAX_GRID_SIZE}. Fix: narrow the INTEGER ranges or use RANDOM_SEARCH."
                )

    @staticmethod
    def optuna_name(parameter: ParameterSpec, algorithm: str | None = None) -> str:
        """The name Optuna stores the parameter under (see the module docs for reverse log).

        Example:
            >>> SearchSpace.optuna_name(ParameterSpec("lr", "DOUBLE", 1, 2, scale_type="UNIT_LOG_SCALE"))
            'lr'
        """
        if algorithm != "GRID_SEARCH" and _reversed(parameter):
            return f"{parameter.parameter_id} (reversed)"
        return parameter.parameter_id

    def distributions(self) -> dict[str, Any]:
        """Optuna distributions by Optuna name, for ``study.ask(fixed_distributions=...)``.

        Example:
            >>> SearchSpace((ParameterSpec("act", "CATEGORICAL", values=("a", "b")),),
            ...             None).distributions()
            {'act': CategoricalDistribution(choices=('a', 'b'))}
        """
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        result: dict[str, Any] = {}
        for p in self.parameters:
            name = self.optuna_name(p, self.algorithm)
            log = p.scale_type in ("UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")
            if self.algorithm == "GRID_SEARCH":
                log = False  # a grid lists every value: a scale changes nothing
            if p.kind == "DOUBLE":
                result[name] = FloatDistribution(float(p.min_value), float(p.max_value), log=log)  # type: ignore[arg-type]
            elif p.kind == "INTEGER":
                result[name] = IntDistribution(int(p.min_value), int(p.max_value), log=log)  # type: ignore[arg-type]
            else:
                result[name] = CategoricalDistribution(list(p.values))
        return result

    def to_vertex(self, optuna_params: Mapping[str, Any]) -> dict[str, float | str]:
        """Map Optuna's sampled values to the values Vertex AI would pass, by ``parameterId``.

        Example:
            >>> SearchSpace((ParameterSpec("n", "INTEGER", 1, 10,
            ...     scale_type="UNIT_REVERSE_LOG_SCALE"),), None).to_vertex({"n (reversed)": 2})
            {'n': 9}
        """
        values: dict[str, float | str] = {}
        for p in self.parameters:
            raw = optuna_params[self.optuna_name(p, self.algorithm)]
            if self.algorithm != "GRID_SEARCH" and _reversed(p):
                low, high = float(p.min_value), float(p.max_value)  # type: ignore[arg-type]
                # Rounding in min + max - y must not step outside the bounds.
                raw = min(high, max(low, low + high - raw))
            values[p.parameter_id] = int(raw) if p.kind == "INTEGER" else raw
        return values

    def grid(self) -> dict[str, list[Any]]:
        """Every value GRID_SEARCH tries, by parameter (INTEGER ranges in full).

        Example:
            >>> SearchSpace((ParameterSpec("bs", "DISCRETE", values=(32, 64)),), None).grid()
            {'bs': [32, 64]}
        """
        return {
            p.parameter_id: (
                list(range(int(p.min_value), int(p.max_value) + 1))  # type: ignore[arg-type]
                if p.kind in ("INTEGER", "DOUBLE")
                else list(p.values)
            )
            for p in self.parameters
        }

    def grid_size(self) -> int:
        """The number of points in :meth:`grid` (only meaningful for GRID_SEARCH).

        Example:
            >>> SearchSpace((ParameterSpec("a", "INTEGER", 0, 4),
            ...              ParameterSpec("b", "CATEGORICAL", values=("x", "y"))), None).grid_size()
            10
        """
        return math.prod(len(v) for v in self.grid().values())


def directions(metrics: Sequence[MetricSpec]) -> list[Literal["minimize", "maximize"]]:
    """Optuna study directions, one per metric.

    Example:
        >>> directions([MetricSpec("acc", "MAXIMIZE"), MetricSpec("ms", "MINIMIZE")])
        ['maximize', 'minimize']
    """
    return [cast(Literal["minimize", "maximize"], m.goal.lower()) for m in metrics]


def make_sampler(
    job: JobSpec, seed: int | None = None, *, startup_trials: int | None = None
) -> Any:
    """The Optuna sampler that stands in for ``studySpec.algorithm`` (see the module docs).

    Args:
        job: The job file.
        seed: Seeds the sampler for reproducible studies.
        startup_trials: Random trials before TPE models the results; by default
            ``max(2, min(10, maxTrialCount // 4))``, so short studies still get
            Bayesian trials.

    Example:
        >>> make_sampler(job, seed=0)  # doctest: +SKIP
        <optuna.samplers._tpe.sampler.TPESampler object at ...>
    """
    import warnings

    import optuna

    space = SearchSpace(job.parameters, job.algorithm)
    if job.algorithm == "RANDOM_SEARCH":
        return optuna.samplers.RandomSampler(seed=seed)
    if job.algorithm == "GRID_SEARCH":

        class _Grid(optuna.samplers.GridSampler):  # type: ignore[misc]
            def __init__(self, grid: dict[str, list[Any]]) -> None:
                super().__init__(grid, seed=0)
                # Stored trials name their point by index: a shuffle seeded anew on
                # --resume would re-map them, so the grid keeps its natural order.
                self._all_grids = list(itertools.product(*self._search_space.values()))

            # GridSampler calls study.stop() after the last point, which raises
            # outside study.optimize(); the runner caps trials at the grid size.
            def after_trial(self, *args: Any) -> None:
                return None

        return _Grid(space.grid())
    if startup_trials is None:
        startup_trials = max(2, min(10, job.max_trial_count // 4))
    with warnings.catch_warnings():
        # multivariate TPE is marked experimental; it models parameter
        # interactions, as Vizier's Gaussian process does.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup_trials, multivariate=True, constant_liar=True
        )
