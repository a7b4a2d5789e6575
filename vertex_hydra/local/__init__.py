"""Run a whole Vertex AI tuning job on this machine: the study engine behind ``vertex-hydra local``.

:class:`Study` runs (or resumes) a study of a job file in a folder and returns
its :class:`~vertex_hydra.results.StudyResults`; a :class:`StudyObserver` is
told of every event. The command line (``vertex-hydra local``) is
:mod:`vertex_hydra.local._cli`, whose progress display is one observer; a Hydra
sweeper or a test passes its own. Importing this package imports neither optuna
nor matplotlib.

The parts, one concern each:

* :mod:`vertex_hydra.local.study`: scheduling (slots, starts, polling, the failure limit);
* :mod:`vertex_hydra.local.trial`: the lifecycle of one trial (start, read metrics, stop, result);
* :mod:`vertex_hydra.local.stopping`: the automated stopping rules;
* :mod:`vertex_hydra.local.store`: the Optuna store in ``study.db``, the one source of results;
* :mod:`vertex_hydra.local.search`: the search space and algorithms, with Optuna;
* :mod:`vertex_hydra.local.metrics_file`: reading hypertune's metric file;
* :mod:`vertex_hydra.local.trial_process`: one trial process and its process group;
* :mod:`vertex_hydra.local.observer` and :mod:`vertex_hydra.local.progress`: events and their display.

Example:
    >>> from vertex_hydra.jobspec import load_job
    >>> from vertex_hydra.local import Study, StudyObserver
    >>> class Count(StudyObserver):
    ...     finished = 0
    ...     def trial_finished(self, result):
    ...         self.finished += 1
    >>> study = Study(load_job("job.yaml"), "runs/a", parallel=2, seed=0)  # doctest: +SKIP
    >>> results = study.run(Count())  # doctest: +SKIP
    >>> study.end_reason, results.best().trial_id  # doctest: +SKIP
    ('completed', '5')
"""

from vertex_hydra.local.observer import StudyEnd, StudyObserver, StudyStart, StudyStatus
from vertex_hydra.local.study import END_REASONS, Study, default_workdir, failure_limit

__all__ = [
    "END_REASONS",
    "Study",
    "StudyEnd",
    "StudyObserver",
    "StudyStart",
    "StudyStatus",
    "default_workdir",
    "failure_limit",
]
