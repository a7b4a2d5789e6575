"""The data ``vertex-hydra check`` produces: problems, one row per parameter, the result."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vertex_hydra.jobspec._rehearsal import Unrehearsed

__all__ = ["Problem", "ParameterRow", "PoolRow", "CheckResult", "suggest_keys", "flatten_keys"]


@dataclass(frozen=True)
class Problem:
    """One mistake found, with what was wrong, what was received and the fix.

    Args:
        subject: The parameter id it concerns, or ``"job file"`` / ``"trial command"``.
        message: The full explanation, ending with ``Fix: ...``.

    Example:
        >>> str(Problem("data.bs", "no such key. Fix: rename it."))
        'data.bs: no such key. Fix: rename it.'
    """

    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass(frozen=True)
class ParameterRow:
    """What one tuned parameter does to the trial's config.

    Args:
        parameter_id: The job file's ``parameterId``.
        key: The Hydra key it lands on (after the app's ``rename``), if known.
        tried: The probe values, formatted as Vertex AI passes them.
        received: What the config held for each probe value (``None`` if not composed).
        default: The key's value without any parameter (``None`` if absent).
        status: ``"OK"`` or a short description of the error.
        problem: The full explanation when ``status`` is not ``"OK"``.
        condition: For a child of ``conditionalParameterSpecs``, the condition that
            activates it (``model.act in [relu]``); it was probed with its parent so set.

    Example:
        >>> ParameterRow("lr", "model.lr", ("0.1",), (0.1,), 0.01, "OK").ok
        True
    """

    parameter_id: str
    key: str | None
    tried: tuple[str, ...]
    received: tuple[Any, ...]
    default: Any
    status: str
    problem: str | None = None
    condition: str = ""

    @property
    def label(self) -> str:
        """The parameter as the table names it: ``lr (when model.act in [relu])`` for a child."""
        return (
            f"{self.parameter_id} (when {self.condition})" if self.condition else self.parameter_id
        )

    @property
    def ok(self) -> bool:
        """Whether every probe value reached the config as it should."""
        return self.problem is None


@dataclass(frozen=True)
class PoolRow:
    """One ``trialJobSpec.workerPoolSpecs`` entry, as ``check`` saw it.

    Args:
        index: The pool's position: 0 the chief, 1 the workers, 2 and 3 not rehearsed.
        replicas: Its ``replicaCount`` (see :attr:`JobSpec.replica_counts`).
        composed: Whether a replica's config composed (``None`` when not tried).

    Example:
        >>> str(PoolRow(1, 2, True))
        'workerpool1 x2'
    """

    index: int
    replicas: int
    composed: bool | None = None

    @property
    def name(self) -> str:
        """The pool's name in ``CLUSTER_SPEC`` (``workerpool0``, ``workerpool1``, ...)."""
        return f"workerpool{self.index}"

    def __str__(self) -> str:
        return f"{self.name} x{self.replicas}"


@dataclass(frozen=True)
class CheckResult:
    """Everything ``check`` found out about a job file.

    ``problems`` make the job fail (``ok`` is ``False``); ``warnings`` are
    mistakes to fix before submitting that ``check`` itself can work around
    (a placeholder ``imageUri``); ``notes`` say what was not checked.

    Example:
        >>> CheckResult(Path("job.yaml"), schema_checked=True).ok
        True
    """

    path: Path
    schema_checked: bool
    problems: tuple[Problem, ...] = ()
    rows: tuple[ParameterRow, ...] = ()
    command: tuple[str, ...] = ()
    working_dir: Path | None = None
    compositions: int = 0
    runs: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    study_env: str | None = None
    pools: tuple[PoolRow, ...] = ()
    #: What to fix before submitting, though the trials would start (``ok`` stays ``True``).
    warnings: tuple[Problem, ...] = ()
    #: The job file's fields that ``local`` does not rehearse (also among ``notes``).
    unrehearsed: tuple[Unrehearsed, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong: the job would start every trial as intended."""
        return not self.problems

    @property
    def fully_probed(self) -> bool:
        """Whether the schema was checked and every probe value of every row was composed."""
        return (
            self.schema_checked
            and bool(self.rows)
            and all(v is not None for row in self.rows for v in row.received)
        )

    @property
    def unprobed(self) -> list[str]:
        """The ``parameterId`` of each row with a probe value that was not composed.

        Example:
            >>> CheckResult(Path("j.yaml"), True).unprobed
            []
        """
        return [r.parameter_id for r in self.rows if any(v is None for v in r.received)]

    @property
    def env_entry(self) -> list[dict[str, str]]:
        """The ``env:`` entry that gives a gcloud-created job's trials the study's types.

        Example:
            >>> CheckResult(Path("j.yaml"), True, study_env="{}").env_entry
            [{'name': 'VERTEX_HYDRA_STUDY', 'value': '{}'}]
        """
        from vertex_hydra.study_env import STUDY_ENV

        return [] if self.study_env is None else [{"name": STUDY_ENV, "value": self.study_env}]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``check --json`` prints)."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "schema_checked": self.schema_checked,
            "command": list(self.command),
            "compositions": self.compositions,
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "unrehearsed": [{"path": u.path, "reason": u.reason} for u in self.unrehearsed],
            "unprobed": self.unprobed,
            "fully_probed": self.fully_probed,
            "env": self.env_entry,
            "pools": [
                {"pool": p.index, "name": p.name, "replicas": p.replicas, "composed": p.composed}
                for p in self.pools
            ],
            "problems": [{"subject": p.subject, "message": p.message} for p in self.problems],
            "warnings": [{"subject": w.subject, "message": w.message} for w in self.warnings],
            "rows": [
                {
                    "parameter_id": r.parameter_id,
                    "key": r.key,
                    "tried": list(r.tried),
                    "received": list(r.received),
                    "default": r.default,
                    "status": r.status,
                    "problem": r.problem,
                    "condition": r.condition,
                }
                for r in self.rows
            ],
        }


def suggest_keys(key: str, existing: Sequence[str], n: int = 3) -> list[str]:
    """The existing config keys closest to ``key``: same last name first, then by spelling.

    Example:
        >>> suggest_keys("data.batch_sz", ["data.batch_size", "data.root", "model.lr"])
        ['data.batch_size']
        >>> suggest_keys("batch_size", ["data.batch_size", "model.lr"])
        ['data.batch_size']
    """
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [k for k in existing if k.rsplit(".", 1)[-1] == leaf and k != key]
    close = difflib.get_close_matches(key, list(existing), n=n, cutoff=0.6)
    leaves = {k.rsplit(".", 1)[-1]: k for k in existing}
    close_leaf = [leaves[m] for m in difflib.get_close_matches(leaf, list(leaves), n=n)]
    return list(dict.fromkeys(same_leaf + close + close_leaf))[:n]


def flatten_keys(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every dotted key of a nested mapping, parents before children.

    Example:
        >>> flatten_keys({"data": {"batch_size": 32}, "seed": 0})
        ['data', 'data.batch_size', 'seed']
    """
    keys: list[str] = []
    for name, value in config.items():
        key = f"{prefix}{name}"
        keys.append(key)
        if isinstance(value, Mapping):
            keys += flatten_keys(value, f"{key}.")
    return keys
