"""The job file model: read, validate and describe a Vertex AI tuning job.

The job file is the YAML that users already pass to
``gcloud ai hp-tuning-jobs create --config``: a ``HyperparameterTuningJob``
message in camelCase. :func:`load_job` reads it into a :class:`JobSpec`, which
knows how Vertex AI starts each trial (its argv and environment). ``check``,
``local``, ``submit`` and ``results`` all share this module; it prints nothing.

Example:
    >>> job = JobSpec.from_dict({
    ...     "maxTrialCount": 4,
    ...     "studySpec": {
    ...         "metrics": [{"metricId": "val_loss", "goal": "MINIMIZE"}],
    ...         "parameters": [{"parameterId": "data.batch_size",
    ...                         "discreteValueSpec": {"values": [32, 64]}}]},
    ...     "trialJobSpec": {"workerPoolSpecs": [{
    ...         "containerSpec": {"imageUri": "img", "command": ["python", "train.py"]}}]},
    ... })
    >>> job.parameters[0].vertex_arg(64)
    '--data.batch_size=64.0'
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.jobspec._image import image_problem
from vertex_hydra.jobspec._rules import (
    _SPEC_KINDS,
    SCALE_TYPES,
    ParameterKind,
    rule_problems,
    schema_problems,
)
from vertex_hydra.study_env import STUDY_ENV, encode_study

__all__ = [
    "ParameterKind",
    "ParameterSpec",
    "MetricSpec",
    "JobSpec",
    "read_job_file",
    "load_job",
    "schema_problems",
    "rule_problems",
    "image_problem",
    "merged_spec",
    "SCALE_TYPES",
]

_PYTHON_NAMES = ("python", "python3")


@dataclass(frozen=True)
class ParameterSpec:
    """One tuned parameter of the study (``studySpec.parameters[i]``).

    Args:
        parameter_id: The ``parameterId``; Vertex passes ``--<parameter_id>=<value>``.
        kind: DOUBLE, INTEGER, DISCRETE or CATEGORICAL.
        min_value: Lower bound (DOUBLE, INTEGER).
        max_value: Upper bound (DOUBLE, INTEGER).
        values: The allowed values (DISCRETE numbers, CATEGORICAL strings).
        scale_type: ``scaleType`` or ``None`` when unset.
        parent: The ``parameterId`` of the parent, for a child of
            ``conditionalParameterSpecs`` (``None`` at the top level).
        parent_values: The parent's values that activate this child
            (``parentIntValues``, ``parentDiscreteValues`` or ``parentCategoricalValues``).
        children: This parameter's ``conditionalParameterSpecs``, in file order.

    Example:
        >>> p = ParameterSpec("model.depth", "INTEGER", min_value=1, max_value=4)
        >>> p.format_value(3), p.probe_values()
        ('3.0', [1, 4])
        >>> child = ParameterSpec("lr", "DOUBLE", 0.1, 1, parent="model.depth", parent_values=(2,))
        >>> child.active_under(2.0), child.active_under(3), child.condition()
        (True, False, 'model.depth in [2]')
    """

    parameter_id: str
    kind: ParameterKind
    min_value: float | None = None
    max_value: float | None = None
    values: tuple[float | str, ...] = ()
    scale_type: str | None = None
    parent: str | None = None
    parent_values: tuple[float | str, ...] = ()
    children: tuple[ParameterSpec, ...] = field(default=(), repr=False)

    def active_under(self, parent_value: float | str | None) -> bool:
        """Whether the parent's value ``parent_value`` activates this child.

        A top-level parameter is always active. Numbers match within 1e-10
        (Vertex AI's tolerance for ``parentDiscreteValues``); text matches exactly.
        """
        if self.parent is None:
            return True
        if parent_value is None:
            return False
        for wanted in self.parent_values:
            if isinstance(wanted, str) or isinstance(parent_value, str):
                if str(wanted) == str(parent_value):
                    return True
            elif abs(float(wanted) - float(parent_value)) <= 1e-10:
                return True
        return False

    def condition(self) -> str:
        """The condition that activates this child, e.g. ``model.act in [relu]`` (``""`` at the top)."""
        if self.parent is None:
            return ""
        shown = ", ".join(_plain(v) for v in self.parent_values)
        return f"{self.parent} in [{shown}]"

    def format_value(self, value: float | str) -> str:
        """Format ``value`` as Vertex AI writes it on the command line.

        Every numeric value is a protobuf double, so INTEGER and DISCRETE
        values arrive as integral floats (``64.0``); CATEGORICAL values as text.
        """
        if self.kind == "CATEGORICAL":
            return str(value)
        return repr(float(value))

    def vertex_arg(self, value: float | str) -> str:
        """The single argument Vertex AI passes for ``value``: ``--<id>=<value>``."""
        return f"--{self.parameter_id}={self.format_value(value)}"

    def probe_values(self) -> list[float | str]:
        """Values worth composing before a real run: both bounds, or every value."""
        if self.kind in ("DOUBLE", "INTEGER"):
            low, high = self.min_value, self.max_value
            if self.kind == "INTEGER" and low is not None and high is not None:
                return [int(low), int(high)]
            return [v for v in (low, high) if v is not None]
        return list(self.values)


@dataclass(frozen=True)
class MetricSpec:
    """One study metric (``studySpec.metrics[i]``).

    Example:
        >>> MetricSpec("val/acc", "MAXIMIZE").better(0.9, 0.8)
        True
    """

    metric_id: str
    goal: Literal["MAXIMIZE", "MINIMIZE"]

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b`` under this metric's goal."""
        return a > b if self.goal == "MAXIMIZE" else a < b


@dataclass(frozen=True)
class JobSpec:
    """A parsed ``HyperparameterTuningJob`` job file.

    Build one with :func:`load_job` (from a file) or :meth:`from_dict`.

    Example:
        >>> job = load_job("examples/digits/job.yaml")  # doctest: +SKIP
        >>> job.trial_argv({"model.optimizer.lr": 0.001})  # doctest: +SKIP
        ['.../python', 'train.py', '--model.optimizer.lr=0.001']
    """

    raw: Mapping[str, Any]
    parameters: tuple[ParameterSpec, ...]
    metrics: tuple[MetricSpec, ...]
    max_trial_count: int
    parallel_trial_count: int
    max_failed_trial_count: int
    algorithm: str | None
    measurement_selection: str
    worker_pool: Mapping[str, Any]
    base_output_directory: str | None = None
    display_name: str | None = None
    path: Path | None = None
    stopping: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str | Path | None = None) -> JobSpec:
        """Build a :class:`JobSpec` from the job file's mapping.

        Raises:
            ConfigurationError: The structure ``check``, ``local`` and ``submit``
                rely on is missing (no parameters, no metrics, no worker pool).
        """
        problems = rule_problems(raw)
        if problems:
            where = f" in {path}" if path else ""
            raise ConfigurationError(f"invalid tuning job{where}:\n  - " + "\n  - ".join(problems))
        study = raw["studySpec"]
        trial = raw["trialJobSpec"]
        stopping = {k: v for k, v in study.items() if k.endswith("StoppingSpec") and v is not None}
        base = (trial.get("baseOutputDirectory") or {}).get("outputUriPrefix")
        return cls(
            raw=raw,
            parameters=tuple(q for p in study["parameters"] for q in _preorder(_parameter(p))),
            metrics=tuple(MetricSpec(m["metricId"], m["goal"]) for m in study["metrics"]),
            max_trial_count=int(float(raw.get("maxTrialCount") or 1)),
            parallel_trial_count=int(float(raw.get("parallelTrialCount") or 1)),
            max_failed_trial_count=int(float(raw.get("maxFailedTrialCount") or 0)),
            algorithm=_unset_to_none(study.get("algorithm"), "ALGORITHM_UNSPECIFIED"),
            measurement_selection=_unset_to_none(
                study.get("measurementSelectionType"), "MEASUREMENT_SELECTION_TYPE_UNSPECIFIED"
            )
            or "LAST_MEASUREMENT",
            worker_pool=trial["workerPoolSpecs"][0],
            base_output_directory=base,
            display_name=raw.get("displayName"),
            path=Path(path) if path is not None else None,
            stopping=stopping,
        )

    @property
    def working_dir(self) -> Path:
        """Where trial commands run on the host: the job file's folder (else cwd)."""
        return self.path.resolve().parent if self.path is not None else Path.cwd()

    @property
    def parameter_ids(self) -> list[str]:
        """The ``parameterId`` of every tuned parameter, in file order, each once.

        Children of ``conditionalParameterSpecs`` follow their parent (pre-order).
        """
        return list(dict.fromkeys(p.parameter_id for p in self.parameters))

    @property
    def columns(self) -> tuple[ParameterSpec, ...]:
        """One parameter per ``parameterId``, in pre-order: a results table's columns.

        Children that share an id under disjoint conditions make one column, whose
        spec covers them all (see :func:`merged_spec`): the widest range, every
        value, a log scale only if each of them has one.
        """
        by_id: dict[str, list[ParameterSpec]] = {}
        for p in self.parameters:
            by_id.setdefault(p.parameter_id, []).append(p)
        return tuple(merged_spec(specs) for specs in by_id.values())

    @property
    def roots(self) -> tuple[ParameterSpec, ...]:
        """The top-level parameters (``studySpec.parameters``), each holding its children."""
        return tuple(p for p in self.parameters if p.parent is None)

    @property
    def conditional(self) -> bool:
        """Whether any parameter has ``conditionalParameterSpecs``."""
        return any(p.parent is not None for p in self.parameters)

    def active_parameters(self, values: Mapping[str, float | str]) -> list[ParameterSpec]:
        """The parameters a trial with ``values`` (by ``parameterId``) gets, in pre-order.

        A top-level parameter is always active; a child is active when its parent
        is active and the parent's value activates it (see :meth:`ParameterSpec.active_under`).

        Example:
            >>> job = JobSpec.from_dict({"studySpec": {
            ...     "metrics": [{"metricId": "a", "goal": "MAXIMIZE"}],
            ...     "parameters": [{"parameterId": "act",
            ...         "categoricalValueSpec": {"values": ["relu", "tanh"]},
            ...         "conditionalParameterSpecs": [{"parentCategoricalValues": {"values": ["relu"]},
            ...             "parameterSpec": {"parameterId": "lr",
            ...                 "doubleValueSpec": {"minValue": 0.1, "maxValue": 1}}}]}]},
            ...     "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "i",
            ...         "command": ["t"]}}]}})
            >>> [p.parameter_id for p in job.active_parameters({"act": "relu"})]
            ['act', 'lr']
            >>> [p.parameter_id for p in job.active_parameters({"act": "tanh"})]
            ['act']
        """
        active: list[ParameterSpec] = []

        def walk(spec: ParameterSpec) -> None:
            active.append(spec)
            for child in spec.children:
                if child.active_under(values.get(spec.parameter_id)):
                    walk(child)

        for root in self.roots:
            walk(root)
        return active

    def trial_command(self, python: str | None = None) -> list[str]:
        """The trial's program and fixed args, as Vertex starts them, on this host.

        ``containerSpec`` gives ``command + args``; ``pythonPackageSpec`` gives
        ``python -m <pythonModule> + args``. A leading ``python``/``python3`` is
        replaced by ``python`` (default: this interpreter), since no container runs here.
        """
        return self.pool_command(0, python)

    # --- Worker pools (issue 12): every pool's command and replica count -------------------

    @property
    def replica_counts(self) -> tuple[int, ...]:
        """``replicaCount`` of every ``workerPoolSpecs`` entry, in order (pool 0 defaults to 1).

        An empty placeholder pool (``{}``) or one without ``replicaCount`` counts 0
        replicas, except pool 0, which always runs its one chief.

        Example:
            >>> pool = {"containerSpec": {"imageUri": "i", "command": ["t"]}}
            >>> spec = {"studySpec": {"metrics": [{"metricId": "a", "goal": "MAXIMIZE"}],
            ...         "parameters": [{"parameterId": "x", "doubleValueSpec": {"minValue": 0,
            ...         "maxValue": 1}}]}, "trialJobSpec": {"workerPoolSpecs": [pool,
            ...         dict(pool, replicaCount=2)]}}
            >>> JobSpec.from_dict(spec).replica_counts
            (1, 2)
        """
        pools = (self.raw.get("trialJobSpec") or {}).get("workerPoolSpecs") or []
        counts = []
        for index, pool in enumerate(pools):
            raw = pool.get("replicaCount") if isinstance(pool, Mapping) else None
            try:
                count = int(float(raw)) if raw is not None else (1 if index == 0 else 0)
            except (TypeError, ValueError):
                count = 0
            counts.append(count)
        return tuple(counts)

    def pool_command(self, index: int, python: str | None = None) -> list[str]:
        """The program and fixed args of ``workerPoolSpecs[index]``'s replicas, on this host.

        As :meth:`trial_command` (which is ``pool_command(0)``), for any pool:
        each pool has its own ``containerSpec`` or ``pythonPackageSpec``.

        Raises:
            ConfigurationError: The pool has no command that can run here.

        Example:
            >>> job = JobSpec.from_dict({"studySpec": {"metrics": [{"metricId": "a",
            ...     "goal": "MAXIMIZE"}], "parameters": [{"parameterId": "x",
            ...     "doubleValueSpec": {"minValue": 0, "maxValue": 1}}]}, "trialJobSpec": {
            ...     "workerPoolSpecs": [{"containerSpec": {"imageUri": "i", "command": ["a"]}},
            ...     {"containerSpec": {"imageUri": "i", "command": ["b"], "args": ["w"]}}]}})
            >>> job.pool_command(1)
            ['b', 'w']
        """
        python = python or sys.executable
        pools = (self.raw.get("trialJobSpec") or {}).get("workerPoolSpecs") or []
        pool = pools[index] if 0 <= index < len(pools) else None
        where = "" if index == 0 else f"workerPoolSpecs[{index}]."
        if not isinstance(pool, Mapping) or not (
            "containerSpec" in pool or "pythonPackageSpec" in pool
        ):
            raise ConfigurationError(
                f"trialJobSpec.workerPoolSpecs[{index}] is {pool!r}: it has neither "
                "containerSpec nor pythonPackageSpec. Fix: give the pool a containerSpec "
                "{imageUri: ..., command: [python, train.py]}."
            )
        if "containerSpec" in pool:
            spec = pool["containerSpec"] or {}
            command = [str(c) for c in spec.get("command") or []]
            if not command:
                raise ConfigurationError(
                    f"{where}containerSpec.command is empty: the image's ENTRYPOINT cannot run on "
                    f"this host. Fix: set {where}containerSpec.command, e.g. [python, train.py]."
                )
            if command[0] in _PYTHON_NAMES:
                command[0] = python
        else:
            spec = pool["pythonPackageSpec"] or {}
            command = [python, "-m", str(spec.get("pythonModule"))]
        return command + [str(a) for a in spec.get("args") or []]

    def pool_argv(
        self, index: int, params: Mapping[str, float | str], python: str | None = None
    ) -> list[str]:
        """The argv of a replica of ``workerPoolSpecs[index]``: its command, then the parameters.

        Vertex AI passes the trial's ``--id=value`` arguments to every replica.

        Example:
            >>> job.pool_argv(1, {"x": 0.5})  # doctest: +SKIP
            ['b', 'w', '--x=0.5']
        """
        args = self.trial_argv(params, python)[len(self.trial_command(python)) :]
        return self.pool_command(index, python) + args

    # --- end of worker pools ------------------------------------------------------------------

    def trial_argv(self, params: Mapping[str, float | str], python: str | None = None) -> list[str]:
        """The full argv of a trial: the trial command, then one ``--id=value`` per parameter."""
        by_id = {p.parameter_id: p for p in reversed(self.parameters)}
        by_id.update({p.parameter_id: p for p in self.active_parameters(params)})
        unknown = sorted(set(params) - set(by_id))
        if unknown:
            raise ConfigurationError(
                f"trial parameters {unknown} are not in studySpec.parameters "
                f"({sorted(by_id)}). Fix: use the job file's parameterIds."
            )
        args = [by_id[pid].vertex_arg(value) for pid, value in params.items()]
        return self.trial_command(python) + args

    def study_env_value(self) -> str:
        """The value of ``VERTEX_HYDRA_STUDY`` for this job: metrics, goals and parameter types.

        See :mod:`vertex_hydra.study_env`.
        """
        return encode_study(
            [(m.metric_id, m.goal) for m in self.metrics],
            {p.parameter_id: (p.kind, p.values) for p in self.columns},
        )

    def trial_env(
        self,
        trial_id: str | int,
        *,
        metric_file: str | Path,
        job_id: str = "local",
        output_root: str | Path | None = None,
    ) -> dict[str, str]:
        """The environment variables Vertex AI sets for one trial (to add to ``os.environ``).

        Args:
            trial_id: The trial's id (Vertex counts ``"1"``, ``"2"``, ...).
            metric_file: Where hypertune writes the trial's metric file.
            job_id: The value of ``CLOUD_ML_JOB_ID``.
            output_root: Stands in for ``baseOutputDirectory`` on this host; the
                ``AIP_*_DIR`` variables are only set when the job file has one.
        """
        env = {
            "CLOUD_ML_TRIAL_ID": str(trial_id),
            "CLOUD_ML_HP_METRIC_FILE": str(metric_file),
            "CLOUD_ML_JOB_ID": job_id,
        }
        if len(self.metrics) == 1:
            env["CLOUD_ML_HP_METRIC_TAG"] = self.metrics[0].metric_id
        env[STUDY_ENV] = self.study_env_value()
        if self.base_output_directory is not None:
            root = str(output_root) if output_root is not None else self.base_output_directory
            base = f"{root.rstrip('/')}/{trial_id}"
            env["AIP_MODEL_DIR"] = f"{base}/model/"
            env["AIP_CHECKPOINT_DIR"] = f"{base}/checkpoints/"
            env["AIP_TENSORBOARD_LOG_DIR"] = f"{base}/logs/"
        return env


def merged_spec(specs: Sequence[ParameterSpec]) -> ParameterSpec:
    """One spec standing for children that share a ``parameterId`` (one spec: itself).

    A trial reads ``--<id>=<value>`` without knowing which child is active, so the
    id gets one type: the kind they all have; INTEGER when each is INTEGER or an
    integral DISCRETE; DOUBLE when they are numbers of different kinds (an INTEGER
    child's ``3.0`` then stays a float, which ``check`` shows); CATEGORICAL when
    any of them is text. Ranges widen to cover each child, and DISCRETE and
    CATEGORICAL values are joined (numbers sorted). The tree itself is unchanged.

    Example:
        >>> a = ParameterSpec("lr", "DOUBLE", 0.1, 0.5, parent="act", parent_values=("relu",))
        >>> b = ParameterSpec("lr", "DOUBLE", 0.01, 0.2, parent="act", parent_values=("tanh",))
        >>> m = merged_spec([a, b])
        >>> m.kind, m.min_value, m.max_value
        ('DOUBLE', 0.01, 0.5)
        >>> merged_spec([a, ParameterSpec("lr", "INTEGER", 1, 3)]).kind
        'DOUBLE'
    """
    first = specs[0]
    if len(specs) == 1:
        return first
    kinds = {p.kind for p in specs}
    texts = [v for p in specs if p.kind == "CATEGORICAL" for v in p.values]
    numbers = sorted({float(v) for p in specs if p.kind == "DISCRETE" for v in p.values})
    ranged = [p for p in specs if p.kind in ("DOUBLE", "INTEGER")]
    if "CATEGORICAL" in kinds:
        joined = tuple(dict.fromkeys([*texts, *(_plain(v) for v in numbers)]))
        return replace(first, kind="CATEGORICAL", min_value=None, max_value=None,
                       values=joined, scale_type=None)  # fmt: skip
    if kinds == {"DISCRETE"}:
        return replace(first, values=tuple(numbers))
    lows = [p.min_value for p in ranged if p.min_value is not None] + numbers[:1]
    highs = [p.max_value for p in ranged if p.max_value is not None] + numbers[-1:]
    integral = all(v.is_integer() for v in numbers)
    kind: ParameterKind = "INTEGER" if kinds <= {"INTEGER", "DISCRETE"} and integral else "DOUBLE"
    scales = {p.scale_type for p in specs}
    return replace(
        first, kind=kind, min_value=min(lows) if lows else None,
        max_value=max(highs) if highs else None, values=(),
        scale_type=first.scale_type if len(scales) == 1 else None,
    )  # fmt: skip


def _plain(value: float | str) -> str:
    """A value as a person writes it: ``2`` for ``2.0``, text as it is."""
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _unset_to_none(value: Any, unspecified: str) -> str | None:
    return None if value in (None, "", unspecified) else str(value)


def _as_written(value: Any) -> Any:
    """A number given as text (canonical JSON writes int64 as ``"1"``) as a number."""
    if not isinstance(value, str):
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def _preorder(spec: ParameterSpec) -> list[ParameterSpec]:
    return [spec] + [q for child in spec.children for q in _preorder(child)]


_PARENT_KEYS = ("parentIntValues", "parentDiscreteValues", "parentCategoricalValues")


def _parameter(
    raw: Mapping[str, Any],
    parent: str | None = None,
    parent_values: tuple[float | str, ...] = (),
) -> ParameterSpec:
    spec_key = next(k for k in _SPEC_KINDS if k in raw)
    kind = _SPEC_KINDS[spec_key]
    spec = raw[spec_key] or {}
    bounded = kind in ("DOUBLE", "INTEGER")
    # Only the keys the kind uses: the schema, not this model, refuses stray ones.
    values = () if bounded else tuple(spec.get("values") or ())
    return ParameterSpec(
        parameter_id=str(raw["parameterId"]),
        kind=kind,
        min_value=_as_written(spec.get("minValue")) if bounded else None,
        max_value=_as_written(spec.get("maxValue")) if bounded else None,
        values=tuple(str(v) for v in values)
        if kind == "CATEGORICAL"
        else tuple(_as_written(v) for v in values),
        scale_type=_unset_to_none(raw.get("scaleType"), "SCALE_TYPE_UNSPECIFIED"),
        parent=parent,
        parent_values=parent_values,
        children=tuple(
            _child(str(raw["parameterId"]), kind, c)
            for c in raw.get("conditionalParameterSpecs") or ()
        ),
    )


def _child(parent: str, parent_kind: str, raw: Mapping[str, Any]) -> ParameterSpec:
    key = next(k for k in _PARENT_KEYS if raw.get(k) is not None)
    values = (raw[key] or {}).get("values") or ()
    condition: tuple[float | str, ...] = (
        tuple(str(v) for v in values)
        if parent_kind == "CATEGORICAL"
        else tuple(_as_written(v) for v in values)
    )
    return _parameter(raw["parameterSpec"], parent, condition)


def read_job_file(path: str | Path) -> dict[str, Any]:
    """Read a job file (YAML or JSON) into a dict.

    Raises:
        ConfigurationError: The file is missing, unreadable or not a mapping.

    Example:
        >>> read_job_file("examples/digits/job.yaml")["maxTrialCount"]  # doctest: +SKIP
        8
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise ConfigurationError(
            f"cannot read job file {str(path)!r}: {why}. "
            "Fix: pass the path of the YAML you give to "
            "'gcloud ai hp-tuning-jobs create --config'."
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigurationError(
            f"job file {str(path)!r} is not valid YAML: {_yaml_problem(error)}. Fix: correct the "
            "YAML at that line (indentation with spaces, not tabs; closed brackets and quotes)."
        ) from None
    if not isinstance(data, dict):
        got = "nothing (the file is empty)" if data is None else type(data).__name__
        raise ConfigurationError(
            f"job file {str(path)!r} must hold a mapping (a HyperparameterTuningJob), "
            f"got {got}. Fix: write the job's fields (maxTrialCount, studySpec, trialJobSpec) "
            "at the top level of the file, as for 'gcloud ai hp-tuning-jobs create --config'."
        )
    return data


def _yaml_problem(error: Exception) -> str:
    """PyYAML's explanation on one line, each part with its line and column (1-based)."""

    def part(text: Any, mark: Any) -> str:
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"{' '.join(str(text).split())}{where}" if text else ""

    context = part(getattr(error, "context", None), getattr(error, "context_mark", None))
    problem = part(getattr(error, "problem", None), getattr(error, "problem_mark", None))
    return ": ".join(p for p in (context, problem) if p) or " ".join(str(error).split())


def load_job(path: str | Path) -> JobSpec:
    """Read and structurally validate a job file.

    Schema validation (misspelt fields) is separate: see :func:`schema_problems`.

    Raises:
        ConfigurationError: The file cannot be read or breaks a rule.

    Example:
        >>> load_job("examples/digits/job.yaml").metrics  # doctest: +SKIP
        (MetricSpec(metric_id='val/acc', goal='MAXIMIZE'),)
    """
    return JobSpec.from_dict(read_job_file(path), path=path)
