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

Conditional parameters (``conditionalParameterSpecs``) use Optuna's
define-by-run search space: :meth:`SearchSpace.sample` suggests the parameters
in tree order (a parent before its children) and a child only when its
parent's value activates it, so a trial holds exactly its active parameters, as
on Vertex AI. The default sampler then groups the parameters by the sets that
occur together (TPE's ``group=True``); GRID_SEARCH walks the tree, each active
combination once. Children that share a ``parameterId`` get distinct Optuna
names, ``"<parameterId>|<parent>=<values>"``.

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
        self.roots = tuple(p for p in self.parameters if p.parent is None)
        ids = [p.parameter_id for p in self.parameters]
        self._names = {}
        for p in self.parameters:
            name = self.optuna_name(p, algorithm)
            if ids.count(p.parameter_id) > 1:
                values = ",".join(_plain(v) for v in p.parent_values)
                name = f"{name}|{p.parent}={values}"
            self._names[p] = name
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

    def name(self, parameter: ParameterSpec) -> str:
        """The Optuna name of one of this space's parameters (distinct for shared ids)."""
        return self._names[parameter]

    def sample(self, trial: Any) -> dict[str, float | str]:
        """Suggest the active parameters on an Optuna ``trial``, define-by-run, in tree order.

        A child is suggested only when its parent's value activates it. Returns
        the values Vertex AI would pass, by ``parameterId`` (see :meth:`to_vertex`).

        Example:
            >>> import optuna
            >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
            >>> act = ParameterSpec("act", "CATEGORICAL", values=("relu",),
            ...     children=(ParameterSpec("lr", "INTEGER", 1, 1, parent="act",
            ...                             parent_values=("relu",)),))
            >>> space = SearchSpace((act, act.children[0]), None)
            >>> space.sample(optuna.create_study().ask())
            {'act': 'relu', 'lr': 1}
        """
        distributions = self.distributions()
        chosen: dict[str, Any] = {}

        def walk(p: ParameterSpec) -> None:
            name = self.name(p)
            chosen[name] = _suggest(trial, name, distributions[name])
            value = self.to_vertex({name: chosen[name]})[p.parameter_id]
            for child in p.children:
                if child.active_under(value):
                    walk(child)

        for root in self.roots:
            walk(root)
        return self.to_vertex(chosen)

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
            name = self.name(p)
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

        Parameters absent from ``optuna_params`` (inactive children) are left out.

        Example:
            >>> SearchSpace((ParameterSpec("n", "INTEGER", 1, 10,
            ...     scale_type="UNIT_REVERSE_LOG_SCALE"),), None).to_vertex({"n (reversed)": 2})
            {'n': 9}
        """
        values: dict[str, float | str] = {}
        for p in self.parameters:
            if self.name(p) not in optuna_params:
                continue
            raw = optuna_params[self.name(p)]
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
        return {self.name(p): _values(p) for p in self.parameters}

    def grid_points(self) -> list[dict[str, Any]]:
        """Every active combination GRID_SEARCH tries, by Optuna name, in the grid's order.

        Parameters sorted by name, the last varying fastest; a child's values
        appear only under the parent values that activate it.

        Example:
            >>> act = ParameterSpec("act", "CATEGORICAL", values=("relu", "tanh"),
            ...     children=(ParameterSpec("w", "INTEGER", 1, 2, parent="act",
            ...                             parent_values=("relu",)),))
            >>> SearchSpace((act, act.children[0]), "GRID_SEARCH").grid_points()
            [{'act': 'relu', 'w': 1}, {'act': 'relu', 'w': 2}, {'act': 'tanh'}]
        """

        def subtree(p: ParameterSpec) -> list[dict[str, Any]]:
            points = []
            for value in _values(p):
                active = sorted((c for c in p.children if c.active_under(value)), key=self.name)
                for combo in itertools.product(*(subtree(c) for c in active)):
                    point = {self.name(p): value}
                    for part in combo:
                        point.update(part)
                    points.append(point)
            return points

        roots = sorted(self.roots, key=self.name)
        result = []
        for combo in itertools.product(*(subtree(r) for r in roots)):
            point: dict[str, Any] = {}
            for part in combo:
                point.update(part)
            result.append(point)
        return result

    def grid_size(self) -> int:
        """The number of points in :meth:`grid` (only meaningful for GRID_SEARCH).

        Example:
            >>> SearchSpace((ParameterSpec("a", "INTEGER", 0, 4),
            ...              ParameterSpec("b", "CATEGORICAL", values=("x", "y"))), None).grid_size()
            10
        """

        def count(p: ParameterSpec) -> int:
            return sum(
                math.prod(count(c) for c in p.children if c.active_under(value))
                for value in _values(p)
            )

        return math.prod(count(r) for r in self.roots)


def _suggest(trial: Any, name: str, distribution: Any) -> Any:
    """``trial.suggest_*`` for the distribution :meth:`SearchSpace.distributions` gives."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)
    return trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log)


def _values(p: ParameterSpec) -> list[Any]:
    if p.kind in ("INTEGER", "DOUBLE"):
        return list(range(int(p.min_value), int(p.max_value) + 1))  # type: ignore[arg-type]
    return list(p.values)


def _plain(value: float | str) -> str:
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


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
                # --resume would re-map them, so the grid keeps its natural order. The
                # points are the tree's active combinations; an inactive child's slot
                # holds its first value, which is never suggested.
                self._all_grids = [
                    tuple(point.get(name, grid[name][0]) for name in self._param_names)
                    for point in space.grid_points()
                ]
                self._n_min_trials = len(self._all_grids)

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
            seed=seed,
            n_startup_trials=startup_trials,
            multivariate=True,
            group=job.conditional,  # conditional parameters: model each set that occurs
            constant_liar=True,
        )
