"""The results of a tuning study (the model) and how they are shown (the renderers).

* :mod:`vertex_hydra.results.model`: :class:`StudyResults`, :class:`TrialResult`, :class:`Measurement`;
* :mod:`vertex_hydra.results.table`: the trials table and ``trials.csv``;
* :mod:`vertex_hydra.results.plots`: the PNG plots (matplotlib, imported when drawing);
* :func:`render`: all of them at once, as ``vertex-hydra local`` and ``results`` show a study.

``vertex-hydra local`` (from its Optuna store) and ``vertex-hydra results`` (from
a Vertex AI job) both build a :class:`StudyResults` and hand it to :func:`render`,
so a local rehearsal and the real job read the same way.

Example:
    >>> from vertex_hydra.jobspec import MetricSpec, ParameterSpec
    >>> results = StudyResults(
    ...     metrics=(MetricSpec("val_loss", "MINIMIZE"),),
    ...     parameters=(ParameterSpec("model.lr", "DOUBLE", 1e-4, 1e-1),),
    ...     trials=[TrialResult("1", "SUCCEEDED", {"model.lr": 0.01}, {"val_loss": 0.3})])
    >>> results.best().trial_id
    '1'
"""

from typing import TYPE_CHECKING

from vertex_hydra._lazy import lazy_names
from vertex_hydra.results.model import (
    MEASURED_STATES,
    TRIAL_STATES,
    Measurement,
    StudyResults,
    TrialResult,
)
from vertex_hydra.results.table import format_table, write_csv

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from vertex_hydra.results.plots import plot
    from vertex_hydra.results.summary import render

__all__ = [
    "TRIAL_STATES",
    "MEASURED_STATES",
    "Measurement",
    "TrialResult",
    "StudyResults",
    "format_table",
    "write_csv",
    "plot",
    "render",
]

# The renderers load on first use: a study's runner needs the model from its
# start, but draws and renders only at its end.
_LAZY = {"plot": "vertex_hydra.results.plots", "render": "vertex_hydra.results.summary"}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
