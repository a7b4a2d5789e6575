"""``--resume`` compares what changes results (issue 15): equal meaning resumes, a change is named.

A real store (Optuna over SQLite in ``study.db``) is opened, the job file is
edited as a user would, and the store is opened again with ``resume``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from local_support import write_job
from sqlalchemy import text

from vertex_hydra.cli import main
from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec import load_job
from vertex_hydra.local.store import STUDY_NAME, Store, empty_store, job_fields

X = {"parameterId": "x", "doubleValueSpec": {"minValue": 0.0, "maxValue": 1.0}}
N = {"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 5}}
C = {"parameterId": "opt", "categoricalValueSpec": {"values": ["adam", "sgd"]}}

Edit = Callable[[dict[str, Any]], None]


def _edit(job: Path, change: Edit) -> None:
    spec = yaml.safe_load(job.read_text())
    change(spec)
    job.write_text(yaml.safe_dump(spec, sort_keys=False))


def _started(tmp_path: Path) -> tuple[Path, Path]:
    job = write_job(tmp_path, [X, N, C], max_trials=4, parallel=2)
    workdir = tmp_path / "w"
    workdir.mkdir()
    Store.open(workdir, load_job(job), seed=0, resume=False)
    return job, workdir


def _study(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["studySpec"]


def _pool(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["trialJobSpec"]["workerPoolSpecs"][0]


def _reorder(spec: dict[str, Any]) -> None:
    _study(spec)["parameters"].reverse()


def _integers_as_floats(spec: dict[str, Any]) -> None:
    _study(spec)["parameters"][0]["doubleValueSpec"] = {"minValue": 0, "maxValue": 1}
    _study(spec)["parameters"][1]["integerValueSpec"] = {"minValue": "1", "maxValue": 5.0}


def _defaults(spec: dict[str, Any]) -> None:
    _study(spec)["measurementSelectionType"] = "LAST_MEASUREMENT"
    _study(spec)["algorithm"] = "ALGORITHM_UNSPECIFIED"


def _counts(spec: dict[str, Any]) -> None:
    spec["parallelTrialCount"], spec["maxTrialCount"] = 7, 30


ACCEPTED: dict[str, Edit] = {
    "parameters reordered": _reorder,
    "0.0 written 0, 1 written 1.0 or '1'": _integers_as_floats,
    "defaults Vertex AI applies written out": _defaults,
    "parallelTrialCount and maxTrialCount": _counts,
}


@pytest.mark.parametrize("edit", ACCEPTED.values(), ids=list(ACCEPTED))
def test_an_edit_that_means_the_same_resumes(tmp_path: Path, edit: Edit) -> None:
    job, workdir = _started(tmp_path)
    _edit(job, edit)
    Store.open(workdir, load_job(job), seed=0, resume=True)


def test_comments_and_whitespace_resume(tmp_path: Path) -> None:
    job, workdir = _started(tmp_path)
    text = job.read_text().replace("studySpec:\n", "# tuned by hand\nstudySpec:   \n\n")
    job.write_text(text + "\n# the end\n")
    Store.open(workdir, load_job(job), seed=0, resume=True)


def _command(spec: dict[str, Any]) -> None:
    _pool(spec)["containerSpec"]["command"] = ["python", "other.py"]


def _args(spec: dict[str, Any]) -> None:
    _pool(spec)["containerSpec"]["args"].append("steps=9")


def _best(spec: dict[str, Any]) -> None:
    _study(spec)["measurementSelectionType"] = "BEST_MEASUREMENT"


def _stopping(spec: dict[str, Any]) -> None:
    _study(spec)["medianAutomatedStoppingSpec"] = {"useElapsedDuration": False}


def _bound(spec: dict[str, Any]) -> None:
    _study(spec)["parameters"][0]["doubleValueSpec"]["maxValue"] = 2.0


def _goal(spec: dict[str, Any]) -> None:
    _study(spec)["metrics"][0]["goal"] = "MINIMIZE"


def _replicas(spec: dict[str, Any]) -> None:
    _pool(spec)["replicaCount"] = 2


def _choice(spec: dict[str, Any]) -> None:
    _study(spec)["parameters"][2]["categoricalValueSpec"]["values"].append("rmsprop")


REFUSED: dict[str, tuple[Edit, str]] = {
    "command": (_command, "trialJobSpec.workerPoolSpecs[0].containerSpec.command"),
    "args": (_args, "trialJobSpec.workerPoolSpecs[0].containerSpec.args"),
    "LAST to BEST": (
        _best,
        "studySpec.measurementSelectionType (LAST_MEASUREMENT → BEST_MEASUREMENT)",
    ),
    "stopping rule added": (_stopping, "studySpec.medianAutomatedStoppingSpec"),
    "a bound": (_bound, "studySpec.parameters[x].maxValue (1 → 2)"),
    "a goal": (_goal, "studySpec.metrics[0].goal (MAXIMIZE → MINIMIZE)"),
    "replicas": (_replicas, "trialJobSpec.workerPoolSpecs[0].replicaCount (1 → 2)"),
    "a categorical value": (_choice, "studySpec.parameters[opt].values"),
}


@pytest.mark.parametrize(("edit", "named"), REFUSED.values(), ids=list(REFUSED))
def test_an_edit_that_changes_results_is_refused_naming_the_field(
    tmp_path: Path, edit: Edit, named: str
) -> None:
    job, workdir = _started(tmp_path)
    _edit(job, edit)
    with pytest.raises(ConfigurationError) as refused:
        Store.open(workdir, load_job(job), seed=0, resume=True)
    assert str(refused.value) == (
        f"the job file changed since the study in {workdir} began: {named}; its trials would "
        "not compare. Fix: restore these fields, or start a new study with another --workdir."
    )


def test_the_command_names_every_changed_field_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, [X], max_trials=1)
    workdir = tmp_path / "w"
    assert main(["local", str(job), "--workdir", str(workdir)]) == 0
    _edit(job, lambda spec: (_goal(spec), _args(spec), _bound(spec)))
    capsys.readouterr()
    assert main(["local", str(job), "--workdir", str(workdir), "--resume"]) == 2
    assert capsys.readouterr().err == (
        f"vertex-hydra local: error: the job file changed since the study in {workdir.resolve()} "
        "began: studySpec.metrics[0].goal (MAXIMIZE → MINIMIZE), studySpec.parameters[x].maxValue"
        " (1 → 2), trialJobSpec.workerPoolSpecs[0].containerSpec.args; its trials would not "
        "compare. Fix: restore these fields, or start a new study with another --workdir.\n"
    )


def _as_old_store(workdir: Path, job: Path) -> None:
    """Make the store as one written before ``fields``: only the raw ``job`` attribute."""
    url = f"sqlite:///{workdir / 'study.db'}"
    with optuna.storages.RDBStorage(url).engine.begin() as connection:  # Optuna cannot delete one
        connection.execute(text("DELETE FROM study_user_attributes WHERE key = 'fields'"))
    raw = yaml.safe_load(job.read_text())["studySpec"]
    old = json.dumps(
        {k: raw.get(k) for k in ("metrics", "parameters", "algorithm")}, sort_keys=True
    )
    optuna.load_study(study_name=STUDY_NAME, storage=url).set_user_attr("job", old)


def test_an_old_store_resumes_with_the_old_comparison_and_then_keeps_fields(
    tmp_path: Path,
) -> None:
    job, workdir = _started(tmp_path)
    _as_old_store(workdir, job)
    store = Store.open(workdir, load_job(job), seed=0, resume=True)
    assert store.study.user_attrs["fields"] == job_fields(load_job(job))
    # Once recorded, the new comparison applies: reordered parameters resume.
    _edit(job, _reorder)
    Store.open(workdir, load_job(job), seed=0, resume=True)


def test_an_old_store_refuses_a_changed_job_with_the_old_message(tmp_path: Path) -> None:
    job, workdir = _started(tmp_path)
    _as_old_store(workdir, job)
    _edit(job, _bound)
    with pytest.raises(ConfigurationError, match="metrics, parameters or algorithm changed"):
        Store.open(workdir, load_job(job), seed=0, resume=True)


# --- a new store starts from a copy of the cached empty store -------------------------


def _schema(db: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[tuple[str, ...]]]:
    import sqlite3

    with sqlite3.connect(db) as connection:
        tables = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        alembic = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        version = connection.execute(
            "SELECT schema_version, library_version FROM version_info"
        ).fetchall()
    return tables, alembic, version


def _optunas_own(tmp_path: Path) -> Path:
    """A store made by Optuna alone, with Optuna's own schema checks."""
    db = tmp_path / "own.db"
    storage = optuna.storages.RDBStorage(f"sqlite:///{db}")
    optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="maximize")
    storage.engine.dispose()
    return db


@pytest.fixture
def template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cached empty store, in a cache folder of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made = empty_store()
    assert made is not None
    return made


def test_a_new_store_is_a_copy_of_the_cached_empty_store_with_optunas_own_schema(
    tmp_path: Path, template: Path
) -> None:
    assert template.parent == tmp_path / "cache" / "vertex-hydra"
    assert optuna.__version__ in template.name
    assert [p.name for p in template.parent.iterdir()] == [template.name]  # no tmp file left
    job, workdir = _started(tmp_path)
    store = workdir / "study.db"
    assert _schema(store) == _schema(_optunas_own(tmp_path))
    # Optuna's own compatibility check passes on it, and the study is there.
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{store}")
    assert study.user_attrs["fields"] == job_fields(load_job(job))
    assert _schema(template)[2] == _schema(store)[2]  # the cached copy is left as it was


def test_a_damaged_cached_store_is_replaced_and_the_study_starts(
    tmp_path: Path, template: Path
) -> None:
    template.write_bytes(b"not a database" * 100)
    job, workdir = _started(tmp_path)
    assert _schema(workdir / "study.db") == _schema(_optunas_own(tmp_path))
    assert not template.exists()  # deleted: the next study makes it again
    assert empty_store() == template and _schema(template)[1] == _schema(workdir / "study.db")[1]


def test_with_no_cache_folder_to_write_to_optuna_makes_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert empty_store() is None
    job, workdir = _started(tmp_path)
    assert _schema(workdir / "study.db") == _schema(_optunas_own(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "job.yaml", "own.db", "w"]
