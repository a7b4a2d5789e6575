"""The local study's store, and its single source of truth: an Optuna study in ``<workdir>/study.db``.

Optuna is used through its public API only. Each Optuna trial is one Vertex trial;
its id is ``number + 1`` (``"1"``, ``"2"``, ...). What Optuna has no field for is
kept in user attributes: ``vertex_parameters`` (the values passed) and ``vertex``,
the recorded outcome (Vertex ``state``, ``measurements`` as
``{"step", "elapsed", "values"}`` objects, ``error``, ``seconds``). Every
measurement is also an Optuna intermediate value (step -> the first metric), so
Optuna's plots and optuna-dashboard show learning curves (single-metric studies:
Optuna keeps no intermediate values for several objectives). SUCCEEDED and STOPPED
trials are COMPLETE in Optuna (their final measurement guides the sampler),
FAILED and INFEASIBLE are FAIL. The study's attributes hold ``fields`` (what must not
change on resume: :func:`job_fields`; older stores hold ``job``, the raw
metrics, parameters and algorithm, and get ``fields`` on their first resume),
``max_trials`` (the last ``--max-trials``) and ``layout``.

A lost store: every write first checks that ``study.db`` is still the file the
study opened (same device and inode, a regular file, writable), and a write
that fails is checked again; either way :class:`StoreLostError` says so in one
sentence, instead of SQLite's or Optuna's error.

Resume semantics: a trial that was running when the study was interrupted (by a
signal, or because the runner was killed and left it RUNNING) has its parameters
queued again (``rerun_of``) and is then closed as FAIL with no recorded outcome,
so it re-runs under a new id. Such trials count for nothing (neither
``maxTrialCount`` nor ``maxFailedTrialCount``) and are left out of the results.

A store written by an earlier vertex-hydra (``layout`` 1: measurements as
``[step, elapsed, values]`` lists and no intermediate values) is rewritten on
``--resume`` into a new file that replaces the old one in one step, trial
numbers, times and attributes kept.

Example:
    >>> store = Store.open(workdir, job, seed=0, resume=False)  # doctest: +SKIP
    >>> store.results().trials  # doctest: +SKIP
    []
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vertex_hydra.errors import ConfigurationError, VertexHydraError
from vertex_hydra.jobspec import JobSpec, _parameter
from vertex_hydra.local.search import SearchSpace, directions, make_sampler
from vertex_hydra.results import Measurement, StudyResults, TrialResult

__all__ = [
    "LAYOUT",
    "STORE_FILE",
    "STUDY_NAME",
    "Store",
    "StoreLostError",
    "StoredTrial",
    "changed_fields",
    "check_store",
    "empty_store",
    "job_fields",
]

STUDY_NAME = "vertex-hydra-local"
STORE_FILE = "study.db"
#: The version of the store's layout written by this vertex-hydra.
LAYOUT = 2


class StoreLostError(VertexHydraError, RuntimeError):
    """The study's ``study.db`` was deleted, replaced or made unwritable while the study ran.

    Nothing more can be recorded: the study ends its trials and stops, and keeps
    no results. The message is one sentence naming the file.

    Example:
        >>> print(StoreLostError.for_path(Path("w/study.db"), "was deleted"))  # doctest: +ELLIPSIS
        the study's store w/study.db was deleted while the study ran: ...
    """

    @classmethod
    def for_path(cls, db: Path, what: str) -> StoreLostError:
        """The error for ``db``; ``what`` says what happened to it (``"was deleted"``)."""
        return cls(
            f"the study's store {db} {what} while the study ran: its running trials were "
            "ended and no result of this run is kept. Fix: leave the study folder alone while a "
            "study runs, then start again (another --workdir, or --resume if the file is back)."
        )


def _identity(db: Path) -> tuple[int, int]:
    st = os.stat(db)
    return st.st_dev, st.st_ino


def _connect(db: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(db), timeout=30, check_same_thread=False)
    # WAL with synchronous=NORMAL: a commit no longer waits for the disk (each
    # one took ~20 ms, several per trial), yet a killed runner still leaves a
    # consistent database; only an OS crash may lose the last commits.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _storage(db: Path, *, new: bool = False) -> Any:
    """Optuna's storage on ``db``; with ``new`` (no file there yet), started from :func:`empty_store`.

    A copy of the empty store needs no schema check: this Optuna made it.
    Without one (no cache folder to write to, or the file went away before it
    was copied), or when the cached file is damaged (it is then deleted),
    Optuna creates the tables itself.
    """
    import optuna
    import sqlalchemy.exc

    template = empty_store() if new else None
    if template is not None:
        try:
            shutil.copyfile(template, db)
            return optuna.storages.RDBStorage(
                f"sqlite:///{db.resolve()}",
                engine_kwargs={"creator": lambda: _connect(db)},
                skip_compatibility_check=True,
            )
        except OSError:  # the cached file went away meanwhile (deleted, say): no copy
            _remove(db)
        except (sqlite3.Error, sqlalchemy.exc.SQLAlchemyError):  # a damaged cached file
            _remove(db)
            _remove(template)
    return optuna.storages.RDBStorage(
        f"sqlite:///{db.resolve()}", engine_kwargs={"creator": lambda: _connect(db)}
    )


def empty_store() -> Path | None:
    """An empty Optuna store made by the installed Optuna, in the user's cache; ``None`` if none can be kept.

    Optuna creates a new store's tables and then stamps its schema's version,
    which loads each of its schema migrations (about 0.2 s, before the first
    trial of a study can start). Once per Optuna and SQLAlchemy version that
    store is made and kept as
    ``$XDG_CACHE_HOME/vertex-hydra/optuna-<version>-sqlalchemy-<version>.db``
    (``~/.cache`` by default); each new study starts from a copy. Deleting it
    is always safe: the next study makes it again.

    Example:
        >>> empty_store().name  # doctest: +SKIP
        'optuna-4.6.0-sqlalchemy-2.0.44.db'
    """
    import optuna
    import sqlalchemy.exc

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vertex-hydra"
    path = cache / f"optuna-{optuna.__version__}-sqlalchemy-{sqlalchemy.__version__}.db"
    if path.is_file():
        return path
    made = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.RDBStorage(
            f"sqlite:///{made}", engine_kwargs={"creator": lambda: _connect(made)}
        )
        storage.engine.dispose()  # the write-ahead log is folded in: one file holds it all
        os.replace(made, path)  # in one step, so that a study never copies half a file
    except (OSError, sqlite3.Error, sqlalchemy.exc.SQLAlchemyError):  # no cache: no copy
        _remove(made)
        return None
    return path


def _remove(db: Path) -> None:
    """Delete ``db`` and its write-ahead files, as far as they exist and can be deleted."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        with suppress(OSError):
            path.unlink(missing_ok=True)


def _legacy_fingerprint(job: JobSpec) -> str:
    """What stores written before ``fields`` keep in their ``job`` attribute (the raw text)."""
    study = job.raw.get("studySpec", {})
    keys = ("metrics", "parameters", "algorithm")
    return json.dumps({k: study.get(k) for k in keys}, sort_keys=True, default=str)


def _normal(value: Any) -> Any:
    """``value`` with every number a float, every mapping's unset (``None``) keys dropped."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return str(value)


def _proto3(value: Any) -> Any:
    """A stopping spec as Vertex AI reads it: fields at their default (false, 0, "") are unset."""
    if isinstance(value, Mapping):
        return {k: _proto3(v) for k, v in value.items() if v not in (None, False, 0, "", [])}
    return value


def _parameter_fields(
    prefix: str, raw: Mapping[str, Any], out: dict[str, Any], label: str | None = None
) -> None:
    spec = _parameter(raw)
    name = f"{prefix}[{label or spec.parameter_id}]"
    out[f"{name}.type"] = spec.kind
    if spec.min_value is not None or spec.max_value is not None:
        out[f"{name}.minValue"] = _normal(spec.min_value)
        out[f"{name}.maxValue"] = _normal(spec.max_value)
    if spec.values:
        out[f"{name}.values"] = sorted(_normal(list(spec.values)), key=str)
    out[f"{name}.scaleType"] = spec.scale_type
    children = raw.get("conditionalParameterSpecs") or []
    ids = [(c.get("parameterSpec") or {}).get("parameterId") for c in children]
    for child in children:
        child_spec = child.get("parameterSpec") or {}
        child_name = f"{name}.conditionalParameterSpecs"
        pid = child_spec.get("parameterId")
        conditions = {}
        for key in ("parentDiscreteValues", "parentIntValues", "parentCategoricalValues"):
            if child.get(key) is not None:
                values = _normal((child[key] or {}).get("values") or [])
                conditions[key] = sorted(values, key=str)
        # Children sharing an id (disjoint conditions) are told apart by their condition.
        label = str(pid)
        if ids.count(pid) > 1:
            label += "|" + ",".join(str(v) for vs in conditions.values() for v in vs)
        _parameter_fields(child_name, child_spec, out, label)
        for key, values in conditions.items():
            out[f"{child_name}[{label}].{key}"] = values


def job_fields(job: JobSpec) -> dict[str, Any]:
    """What of the job file changes a study's results, normalized, by field name.

    Two job files that mean the same (``0`` for ``0.0``, parameters in another
    order, a default Vertex AI applies written out, comments) give the same fields;
    ``maxTrialCount`` and ``parallelTrialCount`` are not among them.

    Example:
        >>> spec = {"studySpec": {"metrics": [{"metricId": "a", "goal": "MAXIMIZE"}],
        ...         "parameters": [{"parameterId": "x", "doubleValueSpec": {"minValue": 0,
        ...         "maxValue": 1}}]}, "trialJobSpec": {"workerPoolSpecs": [
        ...         {"containerSpec": {"imageUri": "i", "command": ["t"]}}]}}
        >>> fields = job_fields(JobSpec.from_dict(spec))
        >>> fields["studySpec.parameters[x].maxValue"], fields["studySpec.measurementSelectionType"]
        (1.0, 'LAST_MEASUREMENT')
    """
    study = job.raw.get("studySpec") or {}
    out: dict[str, Any] = {
        "studySpec.algorithm": job.algorithm,
        "studySpec.measurementSelectionType": job.measurement_selection,
    }
    for i, metric in enumerate(job.metrics):
        out[f"studySpec.metrics[{i}].metricId"] = metric.metric_id
        out[f"studySpec.metrics[{i}].goal"] = metric.goal
    for raw in study.get("parameters") or []:
        _parameter_fields("studySpec.parameters", raw, out)
    for key, spec in sorted(job.stopping.items()):
        out[f"studySpec.{key}"] = _normal(_proto3(spec))
    pools = (job.raw.get("trialJobSpec") or {}).get("workerPoolSpecs") or []
    out["trialJobSpec.workerPoolSpecs"] = float(len(pools))
    for i, (pool, replicas) in enumerate(zip(pools, job.replica_counts)):
        where = f"trialJobSpec.workerPoolSpecs[{i}]"
        out[f"{where}.replicaCount"] = float(replicas)
        for kind, keys in (
            ("containerSpec", ("command", "args")),
            ("pythonPackageSpec", ("pythonModule", "args")),
        ):
            spec = pool.get(kind) if isinstance(pool, Mapping) else None
            if spec is None:
                continue
            for key in keys:
                value = (spec or {}).get(key)
                written = [str(v) for v in value or []] if key != "pythonModule" else value
                out[f"{where}.{kind}.{key}"] = written
    return out


def _shown(value: Any) -> str:
    return "unset" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The fields of :func:`job_fields` that differ, each named (with both values when short).

    Example:
        >>> changed_fields({"a.goal": "MINIMIZE", "b": [1.0]}, {"a.goal": "MAXIMIZE", "b": [2.0]})
        ['a.goal (MINIMIZE → MAXIMIZE)', 'b']
    """
    shown = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if all(v is None or isinstance(v, (str, float)) for v in (old, new)):
            shown.append(f"{key} ({_shown(old)} → {_shown(new)})")
        else:
            shown.append(key)
    return shown


def check_store(workdir: Path, *, resume: bool) -> None:
    """Refuse a study folder that does not fit ``resume``, before anything is created.

    Raises:
        ConfigurationError: ``workdir`` already holds a study and ``resume`` is
            off, or ``resume`` is on and there is no study.

    Example:
        >>> import tempfile
        >>> check_store(Path(tempfile.mkdtemp()), resume=False)
    """
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


def measurement_record(m: Measurement) -> dict[str, Any]:
    """How a :class:`Measurement` is stored (JSON).

    Example:
        >>> measurement_record(Measurement(2, 0.5, {"acc": 0.9}))
        {'step': 2, 'elapsed': 0.5, 'values': {'acc': 0.9}}
    """
    return {"step": m.step, "elapsed": m.elapsed, "values": dict(m.values)}


def read_measurement(record: Any) -> Measurement:
    """A stored measurement, in this layout (an object) or layout 1 (``[step, elapsed, values]``).

    Example:
        >>> read_measurement([3, 1.5, {"acc": 0.5}]) == read_measurement(
        ...     {"step": 3, "elapsed": 1.5, "values": {"acc": 0.5}})
        True
    """
    if not isinstance(record, Mapping):
        step, elapsed, values = record
        record = {"step": step, "elapsed": elapsed, "values": values}
    elapsed = record.get("elapsed")
    return Measurement(
        int(record["step"]),
        None if elapsed is None else float(elapsed),
        {str(k): float(v) for k, v in dict(record["values"]).items()},
    )


@dataclass(frozen=True)
class StoredTrial:
    """A trial the store handed out: its Vertex id and the values it receives.

    Example:
        >>> StoredTrial(0, "1", {"lr": 0.1}).trial_id
        '1'
    """

    number: int
    trial_id: str
    parameters: dict[str, float | str]


class Store:
    """The study in ``<workdir>/study.db``: hands out trials, records them, reads results.

    Use :meth:`open`. Every method is one or a few Optuna calls; nothing about
    the results is kept here between calls.

    Example:
        >>> store = Store.open(Path("runs/a"), job, seed=0, resume=False)  # doctest: +SKIP
        >>> trial = store.ask()  # doctest: +SKIP
    """

    def __init__(self, study: Any, storage: Any, job: JobSpec, db: Path) -> None:
        self.study, self.job, self.path = study, job, db
        self._rdb = storage
        self.space = SearchSpace(job.parameters, job.algorithm)
        self._live: dict[int, Any] = {}  # number -> optuna.Trial, while it runs
        self._results: StudyResults | None = None  # read back after each write of ours
        self._identity = _identity(db)

    def check(self) -> None:
        """Raise :class:`StoreLostError` unless ``study.db`` is still the file opened, writable.

        Example:
            >>> store.check()  # doctest: +SKIP
        """
        what = self._what_happened()
        if what == "was made unwritable (it or its folder)":
            # The file may have gone between the stat and the access test (a deletion is
            # then seen as a failed access): look again, so that it is named for what it is.
            what = self._what_happened()
        if what is not None:
            raise StoreLostError.for_path(self.path, what)

    def _what_happened(self) -> str | None:
        """What is wrong with ``study.db`` now (``"was deleted"``, ...), or ``None``."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "was deleted"
        except OSError as error:
            return f"cannot be reached any more ({error.strerror or error})"
        if not stat.S_ISREG(st.st_mode):
            return "was replaced by something that is not a file"
        if (st.st_dev, st.st_ino) != self._identity:
            return "was replaced by another file"
        if not os.access(self.path, os.R_OK | os.W_OK) or not os.access(
            self.path.parent, os.W_OK | os.X_OK
        ):
            return "was made unwritable (it or its folder)"
        return None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Check the file, run the store operation, and turn a failed write into StoreLostError."""
        import optuna
        import sqlalchemy.exc

        self.check()
        try:
            yield
        except StoreLostError:
            raise
        except Exception as error:
            self.check()
            storage_errors = (
                sqlite3.Error,
                sqlalchemy.exc.SQLAlchemyError,
                optuna.exceptions.StorageInternalError,
                OSError,
            )
            if not isinstance(error, storage_errors):
                raise
            cause = getattr(error, "orig", None) or error
            first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            raise StoreLostError.for_path(self.path, f"could not be written ({first})") from None

    @classmethod
    def open(cls, workdir: Path, job: JobSpec, *, seed: int | None, resume: bool) -> Store:
        """Create the study in ``workdir``, or load it with ``resume``.

        Raises:
            ConfigurationError: See :func:`check_store`; or the job file's metrics,
                parameters, algorithm, stopping rules or trial command changed
                since the study began (see :func:`job_fields`).
        """
        import optuna

        check_store(workdir, resume=resume)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        db = workdir / STORE_FILE
        storage = _storage(db, new=not resume)
        study = optuna.create_study(
            storage=storage,
            study_name=STUDY_NAME,
            directions=directions(job.metrics),
            load_if_exists=resume,
        )
        fields = job_fields(job)
        if not resume:
            study.set_user_attr("fields", fields)
            study.set_user_attr("layout", LAYOUT)
        elif "fields" in study.user_attrs:
            changed = changed_fields(study.user_attrs["fields"], fields)
            if changed:
                raise ConfigurationError(
                    f"the job file changed since the study in {workdir} began: "
                    f"{', '.join(changed)}; its trials would not compare. Fix: restore "
                    "these fields, or start a new study with another --workdir."
                )
        elif study.user_attrs.get("job") == _legacy_fingerprint(job):
            study.set_user_attr("fields", fields)  # a store written before ``fields``
        else:
            raise ConfigurationError(
                f"the job file's metrics, parameters or algorithm changed since the study in "
                f"{workdir} began; its trials would not compare. Fix: restore the job file, or "
                "start a new study with another --workdir."
            )
        store = cls(study, storage, job, db)
        # A resumed study must not replay the random numbers it already used.
        done = len(study.get_trials(deepcopy=False))
        study.sampler = make_sampler(job, None if seed is None else seed + done)
        return store

    def _trials(self, *states: Any) -> list[Any]:
        return list(self.study.get_trials(deepcopy=False, states=states or None))

    @property
    def max_trials(self) -> int | None:
        """The ``--max-trials`` the study was last run with (``None``: ``maxTrialCount``)."""
        value = self.study.user_attrs.get("max_trials")
        return None if value is None else int(value)

    @max_trials.setter
    def max_trials(self, value: int) -> None:
        with self._guard():
            self.study.set_user_attr("max_trials", value)

    def ask(self) -> StoredTrial:
        """A new trial with the sampler's parameters (a queued re-run first), marked RUNNING."""
        with self._guard():
            trial = self.study.ask()
            params = self.space.sample(trial)
            trial.set_user_attr("vertex_parameters", params)
        self._live[trial.number] = trial
        self._results = None
        return StoredTrial(trial.number, str(trial.number + 1), params)

    def record(self, trial: StoredTrial, result: TrialResult) -> None:
        """Store a finished trial's outcome and measurements, and tell Optuna.

        Raises:
            StoreLostError: ``study.db`` is gone or cannot be written.
        """
        self._results = None
        with self._guard():
            self._record(self._live.pop(trial.number), result)

    def _record(self, live: Any, result: TrialResult) -> None:
        from optuna.trial import TrialState

        if len(self.job.metrics) == 1:
            first = self.job.metrics[0].metric_id
            for m in result.measurements:
                if first in m.values:
                    live.report(m.values[first], m.step)
        live.set_user_attr(
            "vertex",
            {
                "state": result.state,
                "measurements": [measurement_record(m) for m in result.measurements],
                "error": result.error,
                "seconds": result.seconds,
            },
        )
        if result.state in ("SUCCEEDED", "STOPPED"):
            self.study.tell(live, [result.values[m.metric_id] for m in self.job.metrics])
        else:
            self.study.tell(live, state=TrialState.FAIL)

    def interrupt(self, trial: StoredTrial | int) -> None:
        """Queue a running trial's parameters again, then close it (FAIL, no outcome).

        The order matters: if the runner dies in between, the trial is still
        RUNNING and :meth:`requeue_stale` finishes the job without queuing twice.
        """
        number = trial if isinstance(trial, int) else trial.number
        self._live.pop(number, None)
        self._results = None
        with self._guard():
            self._interrupt(number)

    def _interrupt(self, number: int) -> None:
        from optuna.trial import TrialState

        frozen = self.study.get_trials(deepcopy=False)[number]
        if frozen.state != TrialState.RUNNING:
            return
        queued = any(
            t.user_attrs.get("rerun_of") == number for t in self._trials(TrialState.WAITING)
        )
        if frozen.params and not queued:
            self.study.enqueue_trial(dict(frozen.params), user_attrs={"rerun_of": number})
        self.study.tell(number, state=TrialState.FAIL)

    def requeue_stale(self) -> list[str]:
        """Interrupt the trials a dead runner left RUNNING; return their trial ids."""
        from optuna.trial import TrialState

        stale = [t.number for t in self._trials(TrialState.RUNNING)]
        for number in stale:
            self.interrupt(number)
        return [str(n + 1) for n in stale]

    def close(self) -> None:
        """Close the store's connections, so that ``study.db`` alone holds the whole study.

        SQLite then moves its write-ahead log into the file and removes
        ``study.db-wal`` and ``study.db-shm``: a copy of ``study.db`` misses
        nothing. A later call on this store opens a connection again.

        Example:
            >>> store.close()  # doctest: +SKIP
        """
        self._rdb.engine.dispose()

    def results(self) -> StudyResults:
        """The study's recorded and running trials (interrupted ones left out).

        Read from the file after each change this store makes (the study's
        lock keeps every other writer out), and served from that reading until
        the next change: the progress display asks every second. The file is
        checked on every call all the same.
        """
        if self._results is None:
            with self._guard():
                trials = [r for t in self._trials() if (r := self._result(t)) is not None]
            self._results = StudyResults(
                metrics=self.job.metrics, parameters=self.job.columns, trials=trials
            )
        else:
            self.check()
        return self._results

    def _result(self, t: Any) -> TrialResult | None:
        from optuna.trial import TrialState

        outcome = t.user_attrs.get("vertex")
        if "vertex_parameters" not in t.user_attrs or t.state == TrialState.WAITING:
            return None
        if outcome is None and t.state != TrialState.RUNNING:
            return None  # interrupted
        outcome = outcome or {"state": "ACTIVE"}
        values = {}
        if t.state == TrialState.COMPLETE and t.values is not None:
            values = {m.metric_id: float(v) for m, v in zip(self.job.metrics, t.values)}
        return TrialResult(
            trial_id=str(t.number + 1),
            state=outcome["state"],
            parameters=dict(t.user_attrs["vertex_parameters"]),
            values=values,
            seconds=outcome.get("seconds"),
            measurements=[read_measurement(m) for m in outcome.get("measurements", [])],
            error=outcome.get("error"),
        )

    def upgrade(self) -> bool:
        """Rewrite a layout-1 store into this layout (see the module docs); whether it did.

        Call it with no trial running (after :meth:`requeue_stale`).
        """
        if self.study.user_attrs.get("layout") == LAYOUT:
            return False
        self._rewrite(self._trials())
        return True

    def _rewrite(self, trials: Sequence[Any]) -> None:
        import optuna
        from optuna.trial import TrialState

        new = self.path.with_name(self.path.name + ".upgrade")
        for leftover in (new, *(new.with_name(new.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        storage = _storage(new)
        target = optuna.create_study(
            storage=storage, study_name=STUDY_NAME, directions=self.study.directions
        )
        for key, value in self.study.user_attrs.items():
            target.set_user_attr(key, value)
        target.set_user_attr("layout", LAYOUT)
        first = self.job.metrics[0].metric_id if len(self.job.metrics) == 1 else None
        for t in trials:  # in number order, so that every trial keeps its number
            if t.state == TrialState.WAITING:
                target.enqueue_trial(dict(t.params), user_attrs=dict(t.user_attrs))
                continue
            t = copy.deepcopy(t)
            outcome = t.user_attrs.get("vertex")
            if outcome is not None:
                ms = [read_measurement(m) for m in outcome.get("measurements", [])]
                outcome["measurements"] = [measurement_record(m) for m in ms]
                if first is not None:
                    t.intermediate_values = {
                        m.step: m.values[first] for m in ms if first in m.values
                    }
            target.add_trial(t)
        # Every connection closed, so that no write-ahead log of either file outlives it.
        storage.engine.dispose()
        self._rdb.engine.dispose()
        os.replace(new, self.path)
        self._identity = _identity(self.path)
        self._rdb = _storage(self.path)
        self._results = None
        self.study = optuna.load_study(
            study_name=STUDY_NAME, storage=self._rdb, sampler=self.study.sampler
        )
