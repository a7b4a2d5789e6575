"""The local study's store: an Optuna study in ``<workdir>/study.db`` (SQLite).

Each Optuna trial is one Vertex trial; its id is ``number + 1`` (``"1"``,
``"2"``, ...). What Optuna has no field for is kept in user attributes:
``vertex_parameters`` (the values passed) and ``vertex``, a mapping with the
Vertex ``state``, the ``measurements`` (``[step, elapsed_seconds, {metricId: value}]``),
the ``error`` and the ``seconds``. The study's own attributes hold ``job`` (what
must not change on resume) and ``max_trials`` (the last ``--max-trials``, kept
by a plain ``--resume``). SUCCEEDED and STOPPED trials are COMPLETE in Optuna
(their final measurement guides the sampler), FAILED and INFEASIBLE are FAIL.

Resume semantics: a trial that was running when the study was interrupted
(by a signal, or because the runner was killed and left it RUNNING) is marked
FAIL with ``interrupted=True`` and its parameters are queued again, so it
re-runs under a new id. Interrupted trials count for nothing (neither
``maxTrialCount`` nor ``maxFailedTrialCount``) and are left out of the results.

Example:
    >>> study = open_study(workdir, job, seed=0, resume=False)  # doctest: +SKIP
    >>> load_results(study, job).trials  # doctest: +SKIP
    []
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import JobSpec
from vertex_hydra.local.search import directions, make_sampler
from vertex_hydra.results import Measurement, StudyResults, TrialResult

__all__ = [
    "STORE_FILE",
    "STUDY_NAME",
    "counts_toward_study",
    "interrupt_trial",
    "load_results",
    "open_study",
    "record_trial",
    "requeue_stale_trials",
]

STUDY_NAME = "vertex-hydra-local"
STORE_FILE = "study.db"


def _connect(db: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(db), timeout=30, check_same_thread=False)
    # WAL with synchronous=NORMAL: a commit no longer waits for the disk (each
    # one took ~20 ms, several per trial), yet a killed runner still leaves a
    # consistent database; only an OS crash may lose the last commits.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _fingerprint(job: JobSpec) -> str:
    study = job.raw.get("studySpec", {})
    keys = ("metrics", "parameters", "algorithm")
    return json.dumps({k: study.get(k) for k in keys}, sort_keys=True, default=str)


def open_study(workdir: Path, job: JobSpec, *, seed: int | None, resume: bool) -> Any:
    """Create the study in ``workdir``, or load it with ``resume``.

    Raises:
        ConfigurationError: ``workdir`` already holds a study and ``resume`` is
            off; ``resume`` is on and there is no study; or the job file's
            metrics, parameters or algorithm changed since the study began.

    Example:
        >>> study = open_study(Path("vh-runs/digits"), load_job("job.yaml"), seed=0, resume=False)  # doctest: +SKIP
        >>> study.study_name  # doctest: +SKIP
        'vertex-hydra-local'
    """
    import optuna

    db = workdir / STORE_FILE
    if db.exists() and not resume:
        raise ConfigurationError(
            f"{workdir} already holds a study ({db}). Fix: add --resume to continue it, "
            "or pass another --workdir to start a new one."
        )
    if resume and not db.exists():
        raise ConfigurationError(
            f"--resume: there is no study to resume in {workdir} (no {STORE_FILE}). "
            "Fix: pass the --workdir of the interrupted study, or drop --resume."
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{db.resolve()}", engine_kwargs={"creator": lambda: _connect(db)}
    )
    study = optuna.create_study(
        storage=storage,
        study_name=STUDY_NAME,
        directions=directions(job.metrics),
        load_if_exists=resume,
    )
    done = len(study.get_trials(deepcopy=False))
    # A resumed study must not replay the random numbers it already used.
    study.sampler = make_sampler(job, None if seed is None else seed + done)
    if not resume:
        study.set_user_attr("job", _fingerprint(job))
    elif study.user_attrs.get("job") != _fingerprint(job):
        raise ConfigurationError(
            f"the job file's metrics, parameters or algorithm changed since the study in "
            f"{workdir} began; its trials would not compare. Fix: restore the job file, or "
            "start a new study with another --workdir."
        )
    return study


def trial_id(trial: Any) -> str:
    """The Vertex trial id of an Optuna trial (``number + 1``)."""
    return str(trial.number + 1)


def counts_toward_study(trial: Any) -> bool:
    """Whether a stored trial counts toward ``maxTrialCount`` (not an interrupted one).

    Example:
        >>> [t.number for t in study.trials if counts_toward_study(t)]  # doctest: +SKIP
        [0, 1, 3]
    """
    from optuna.trial import TrialState

    if trial.state == TrialState.WAITING:
        return False
    return not trial.user_attrs.get("interrupted", False)


def record_trial(
    study: Any, trial: Any, result: TrialResult, curve: list[Any], job: JobSpec
) -> None:
    """Store a finished trial's outcome and tell Optuna (COMPLETE or FAIL).

    ``curve`` holds ``[step, elapsed_seconds, {metricId: value}]`` per measurement.

    Example:
        >>> record_trial(study, optuna_trial, result, curve, job)  # doctest: +SKIP
    """
    from optuna.trial import TrialState

    outcome = {
        "state": result.state,
        "measurements": curve,
        "error": result.error,
        "seconds": result.seconds,
    }
    study._storage.set_trial_user_attr(trial._trial_id, "vertex", outcome)
    if result.state in ("SUCCEEDED", "STOPPED"):
        study.tell(trial, [result.values[m.metric_id] for m in job.metrics])
    else:
        study.tell(trial, state=TrialState.FAIL)


def interrupt_trial(study: Any, trial_number: int) -> None:
    """Mark a running trial interrupted, queue its parameters again, then close it (FAIL).

    The order matters: if the runner dies in between, the trial is still
    RUNNING and :func:`requeue_stale_trials` finishes the job without queuing twice.

    Example:
        >>> interrupt_trial(study, optuna_trial.number)  # doctest: +SKIP
    """
    from optuna.trial import TrialState

    storage = study._storage
    frozen = storage.get_trial(
        storage.get_trial_id_from_study_id_trial_number(study._study_id, trial_number)
    )
    if frozen.state != TrialState.RUNNING:
        return
    storage.set_trial_user_attr(frozen._trial_id, "interrupted", True)
    already = any(
        t.user_attrs.get("rerun_of") == trial_number
        for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    )
    if frozen.params and not already:
        study.enqueue_trial(dict(frozen.params), user_attrs={"rerun_of": trial_number})
    storage.set_trial_state_values(frozen._trial_id, TrialState.FAIL)


def requeue_stale_trials(study: Any) -> list[str]:
    """Interrupt the trials a dead runner left RUNNING (see :func:`interrupt_trial`).

    Returns:
        Their trial ids.

    Example:
        >>> requeue_stale_trials(study)  # doctest: +SKIP
        ['3', '4']
    """
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        interrupt_trial(study, trial.number)
    return [trial_id(t) for t in stale]


def load_results(study: Any, job: JobSpec) -> StudyResults:
    """The study's finished and running trials as :class:`StudyResults` (interrupted ones left out).

    Example:
        >>> load_results(study, job).best().trial_id  # doctest: +SKIP
        '4'
    """
    from optuna.trial import TrialState

    trials: list[TrialResult] = []
    for t in study.get_trials(deepcopy=False):
        if not counts_toward_study(t) or "vertex_parameters" not in t.user_attrs:
            continue
        outcome = t.user_attrs.get("vertex", {})
        state = outcome.get("state", "ACTIVE" if t.state == TrialState.RUNNING else "FAILED")
        values = {}
        if t.state == TrialState.COMPLETE and t.values is not None:
            values = {m.metric_id: float(v) for m, v in zip(job.metrics, t.values)}
        trials.append(
            TrialResult(
                trial_id=trial_id(t),
                state=state,
                parameters=dict(t.user_attrs["vertex_parameters"]),
                values=values,
                seconds=outcome.get("seconds"),
                measurements=[
                    Measurement(int(s), None if e is None else float(e), dict(m))
                    for s, e, m in outcome.get("measurements", [])
                ],
                error=outcome.get("error"),
            )
        )
    return StudyResults(metrics=job.metrics, parameters=job.parameters, trials=trials)
