"""``vertex-hydra check JOB.yaml``: find every mistake in a tuning job in seconds.

It validates the job file (the real ``HyperparameterTuningJob`` schema and the
rules the schema alone does not enforce), then composes the trial's Hydra config
for every probe value without training: the trial command runs with ``--cfg
job`` and the parameters exactly as Vertex AI passes them. One composition per
probe index (composition *k* passes each parameter's *k*-th probe value), plus
one baseline without parameters that gives each key's default. A failing
composition is re-run without the parameter Hydra's error names, so one
mistake never hides another. :func:`check_job` returns a :class:`CheckResult`;
the command line and all printing live in :mod:`vertex_hydra.check._cli`.

Example:
    >>> result = check_job("examples/digits/job.yaml")  # doctest: +SKIP
    >>> result.ok, [row.status for row in result.rows]  # doctest: +SKIP
    (True, ['OK', 'OK', 'OK', 'OK'])
"""

from __future__ import annotations

from vertex_hydra.check._job import check_job
from vertex_hydra.check._model import (
    CheckResult,
    ParameterRow,
    PoolRow,
    Problem,
    flatten_keys,
    suggest_keys,
)

__all__ = [
    "Problem",
    "ParameterRow",
    "PoolRow",
    "CheckResult",
    "check_job",
    "suggest_keys",
    "flatten_keys",
]
