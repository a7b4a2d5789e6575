"""Report a trial's metric to Vertex AI through the real ``cloudml-hypertune`` writer.

Vertex AI learns how a trial did only from the metric file that ``hypertune``
writes. :func:`report_metric` appends one line per call to that file, in
hypertune's exact format, and fixes the library's pitfalls: one writer per
process (a second ``HyperTune()`` would truncate the history), a race-free
folder creation, no NaN/inf written, and only the chief replica writes.

This module imports neither torch nor lightning.

Example:
    >>> from vertex_hydra import report_metric
    >>> report_metric(0.93, tag="val/acc", step=100)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import functools
import json
import math
import operator
import os
import threading
import warnings
from collections.abc import Mapping
from typing import Any, SupportsFloat

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.study_env import read_study

__all__ = [
    "RESERVED_FIELDS",
    "DEFAULT_METRIC_FILE",
    "DEFAULT_TAG",
    "ReportWarning",
    "default_tag",
    "get_writer",
    "is_chief",
    "kept_lines",
    "last_step",
    "metric_file_path",
    "report_metric",
    "study_metric",
    "trial_id",
]

#: Where hypertune writes when ``CLOUD_ML_HP_METRIC_FILE`` is unset.
DEFAULT_METRIC_FILE = "/tmp/hypertune/output.metrics"
#: The tag used when neither ``tag`` nor ``CLOUD_ML_HP_METRIC_TAG`` is given
#: (hypertune's own default for an empty tag).
DEFAULT_TAG = "training/hptuning/metric"

_FILE_ENV = "CLOUD_ML_HP_METRIC_FILE"
_TAG_ENV = "CLOUD_ML_HP_METRIC_TAG"
_TRIAL_ENV = "CLOUD_ML_TRIAL_ID"
#: The fields of every hypertune metric line besides the tag; a tag with one of
#: these names would overwrite that field, and a reader skips them.
RESERVED_FIELDS = frozenset({"timestamp", "trial", "global_step", "checkpoint_path"})
_CHIEF_TASK_TYPES = frozenset({"workerpool0", "chief", "master"})

_LOCK = threading.Lock()
_WRITERS: dict[tuple[str, str], Any] = {}
_WARNED_TAGS: set[tuple[str, str]] = set()


class ReportWarning(UserWarning):
    """Warned when a report is skipped, substituted or tagged unlike the study.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("error", ReportWarning)  # make skipped reports fatal
        ...     report_metric(float("inf"), tag="val/loss")
        Traceback (most recent call last):
        ...
        vertex_hydra.report.ReportWarning: report_metric: 'val/loss' is inf at step None; ...
    """


def metric_file_path(environ: Mapping[str, str] | None = None) -> str:
    """Return the absolute path of the metric file this process writes.

    ``CLOUD_ML_HP_METRIC_FILE`` when set and non-empty, else
    :data:`DEFAULT_METRIC_FILE`. A relative path is resolved against the current
    directory (:func:`get_writer` does so once, at the first report).

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        The absolute path.

    Example:
        >>> metric_file_path({"CLOUD_ML_HP_METRIC_FILE": "/x/m.metrics"})
        '/x/m.metrics'
    """
    env = os.environ if environ is None else environ
    return os.path.abspath(env.get(_FILE_ENV) or DEFAULT_METRIC_FILE)


def study_metric(environ: Mapping[str, str] | None = None) -> tuple[str, str | None] | None:
    """Return the study's metric and its mode: ``(metricId, "max"/"min")``, goal ``None`` if unknown.

    The first metric of ``VERTEX_HYDRA_STUDY`` (with its goal), else
    ``CLOUD_ML_HP_METRIC_TAG`` (whose goal is unknown), else ``None``.

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Example:
        >>> from vertex_hydra.study_env import STUDY_ENV, encode_study
        >>> study_metric({STUDY_ENV: encode_study([("val/acc", "MAXIMIZE")], {})})
        ('val/acc', 'max')
        >>> study_metric({"CLOUD_ML_HP_METRIC_TAG": "val/acc"}), study_metric({})
        (('val/acc', None), None)
    """
    env = os.environ if environ is None else environ
    study = read_study(env)
    if study is not None and study.metrics:
        first = study.metrics[0]
        return first.metric_id, first.mode
    tag = env.get(_TAG_ENV)
    return (tag, None) if tag else None


def default_tag(environ: Mapping[str, str] | None = None) -> str:
    """Return the tag used when none is given: the study's metric id, else :data:`DEFAULT_TAG`.

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        ``CLOUD_ML_HP_METRIC_TAG`` when set and non-empty, else the first metric
        of ``VERTEX_HYDRA_STUDY``, else ``"training/hptuning/metric"``.

    Example:
        >>> default_tag({"CLOUD_ML_HP_METRIC_TAG": "val/acc"})
        'val/acc'
        >>> from vertex_hydra.study_env import STUDY_ENV, encode_study
        >>> default_tag({STUDY_ENV: encode_study([("val/f1", "MAXIMIZE")], {})})
        'val/f1'
        >>> default_tag({})
        'training/hptuning/metric'
    """
    env = os.environ if environ is None else environ
    if env.get(_TAG_ENV):
        return env[_TAG_ENV]
    study = study_metric(env)
    return study[0] if study is not None else DEFAULT_TAG


def trial_id(environ: Mapping[str, str] | None = None) -> str:
    """Return the Vertex trial id that hypertune writes into each line (``"0"`` locally).

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        ``CLOUD_ML_TRIAL_ID``, or ``"0"`` as hypertune does when it is unset.

    Example:
        >>> trial_id({"CLOUD_ML_TRIAL_ID": "7"})
        '7'
    """
    env = os.environ if environ is None else environ
    return str(env.get(_TRIAL_ENV, 0))


def _vertex_task(env: Mapping[str, str]) -> tuple[str, int] | None:
    for name in ("CLUSTER_SPEC", "TF_CONFIG"):
        try:
            task = json.loads(env.get(name) or "null")["task"]
            return str(task["type"]), int(task.get("index", 0))
        except (ValueError, TypeError, KeyError):
            continue
    return None


def is_chief(environ: Mapping[str, str] | None = None) -> bool:
    """Tell whether this process is the one that should report: global rank 0 of the chief replica.

    A process is *not* the chief when a distributed launcher gave it a non-zero
    ``RANK``, ``LOCAL_RANK``, ``NODE_RANK`` or ``GROUP_RANK`` (torchrun,
    Lightning's DDP launcher), or when Vertex's ``CLUSTER_SPEC``/``TF_CONFIG``
    names a task other than replica 0 of ``workerpool0`` (``chief``/``master``).
    With none of these set (a plain local run) it is the chief.

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        ``True`` when this process should write the metric file.

    Example:
        >>> is_chief({})
        True
        >>> is_chief({"LOCAL_RANK": "1"})
        False
        >>> is_chief({"CLUSTER_SPEC": '{"task": {"type": "workerpool1", "index": 0}}'})
        False
    """
    env = os.environ if environ is None else environ
    for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK"):
        if env.get(name, "0").strip() not in ("", "0"):
            return False
    task = _vertex_task(env)
    return task is None or (task[0] in _CHIEF_TASK_TYPES and task[1] == 0)


@functools.lru_cache(maxsize=1)
def _writer_class() -> Any:
    import hypertune

    class _Writer(hypertune.HyperTune):  # type: ignore[misc]
        """hypertune's writer, whose file write can be held while one line gets several metrics."""

        held = False

        def _dump_metrics_to_file(self) -> None:
            if not self.held:
                super()._dump_metrics_to_file()

    return _Writer


def kept_lines(path: str, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Return the lines of this trial already in the metric file, which the first report keeps.

    Vertex AI restarts a trial's process in the same trial (preemption,
    ``restartJobOnWorkerRestart``), and hypertune's writer rewrites the whole
    file from its own reports only. So the first writer of a process starts from
    the lines of the file whose ``trial`` is ``CLOUD_ML_TRIAL_ID``; without
    ``CLOUD_ML_TRIAL_ID`` (a plain local run) nothing is kept, as with hypertune.
    Lines of another trial, and lines that are not JSON objects, are dropped.
    The writer keeps the last 100 of them, as it does its own reports.

    Args:
        path: The metric file.
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        The kept lines, oldest first.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m"
        >>> _ = path.write_text('{"trial": "3", "m": "0.5", "global_step": "1"}\\n'
        ...                     '{"trial": "4", "m": "0.9", "global_step": "1"}\\n')
        >>> kept_lines(str(path), {"CLOUD_ML_TRIAL_ID": "3"})
        [{'trial': '3', 'm': '0.5', 'global_step': '1'}]
        >>> kept_lines(str(path), {})
        []
    """
    env = os.environ if environ is None else environ
    if not env.get(_TRIAL_ENV):
        return []
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError):
        return []
    trial = trial_id(env)
    kept = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # e.g. a line cut short when the process was killed
        if isinstance(line, dict) and str(line.get("trial")) == trial:
            kept.append(line)
    return kept


def _new_writer(path: str) -> Any:
    # Create the folder ourselves, idempotently: hypertune's constructor then
    # finds it and skips its own racy ``os.makedirs`` (its issue #10).
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = os.environ.get(_FILE_ENV)
    # hypertune reads the path from the environment only, and crashes on a bare
    # file name; hand it the absolute path for the duration of the constructor.
    try:
        os.environ[_FILE_ENV] = path
        writer = _writer_class()()
    finally:
        if raw is None:
            del os.environ[_FILE_ENV]
        else:
            os.environ[_FILE_ENV] = raw
    # A restarted process of the same trial keeps the lines written before the
    # restart; the writer's own queue (maxlen 100) applies its cap to them.
    writer.metrics_queue.extend(kept_lines(path))
    return writer


def get_writer() -> Any:
    """Return this process's ``hypertune.HyperTune`` writer for the current metric file and trial.

    hypertune rewrites the whole file from the reports held by *one* instance,
    so every report must go through the same instance. A new one is made only
    when ``CLOUD_ML_HP_METRIC_FILE`` or ``CLOUD_ML_TRIAL_ID`` changes. A relative
    ``CLOUD_ML_HP_METRIC_FILE`` is resolved when its writer is made, so a later
    ``os.chdir`` does not split the reports across two files.

    Returns:
        The shared ``hypertune.HyperTune`` instance.

    Example:
        >>> get_writer() is get_writer()
        True
    """
    key = (os.environ.get(_FILE_ENV) or DEFAULT_METRIC_FILE, trial_id())
    with _LOCK:
        writer = _WRITERS.get(key)
        if writer is None:
            writer = _WRITERS[key] = _new_writer(metric_file_path())
        return writer


def last_step() -> int | None:
    """Return the largest ``global_step`` of this trial in the current metric file.

    Before this process's first report, that is the largest step of the lines
    its first report will keep (:func:`kept_lines`: a restarted trial; only in
    the chief, see :func:`is_chief`); ``None`` when there is none (no writer is
    created to find out).

    Example:
        >>> import os, tempfile
        >>> os.environ["CLOUD_ML_HP_METRIC_FILE"] = os.path.join(tempfile.mkdtemp(), "m")
        >>> last_step() is None
        True
        >>> report_metric(0.5, tag="val/acc", step=12)
        True
        >>> last_step()
        12
        >>> del os.environ["CLOUD_ML_HP_METRIC_FILE"]
    """
    key = (os.environ.get(_FILE_ENV) or DEFAULT_METRIC_FILE, trial_id())
    with _LOCK:
        writer = _WRITERS.get(key)
        queue = list(writer.metrics_queue) if writer is not None else None
    if queue is None:
        # Only the chief writes, so only its first report keeps the file's lines
        # (another rank would otherwise read the chief's lines as its own).
        queue = kept_lines(metric_file_path())[-_capacity() :] if is_chief() else []
    steps = []
    for line in queue:
        try:
            steps.append(int(line.get("global_step", 0)))
        except (TypeError, ValueError):
            continue
    return max(steps) if steps else None


def _capacity() -> int:
    import hypertune.hypertune as module

    return int(module._MAX_NUM_METRIC_ENTRIES_TO_PRESERVE)


def _study_tags() -> list[str]:
    """The tags Vertex reads: ``CLOUD_ML_HP_METRIC_TAG`` and every metric of the study."""
    tags = [os.environ[_TAG_ENV]] if os.environ.get(_TAG_ENV) else []
    study = read_study()
    if study is not None:
        tags += [m for m in study.metric_ids if m not in tags]
    return tags


def _check_tag(tag: str | None, argument: str = "tag") -> str:
    if tag is None:
        return default_tag()
    if not isinstance(tag, str) or not tag:
        raise ConfigurationError(
            f"report_metric({argument}={tag!r}): tag must be a non-empty string. Fix: pass "
            "the study's metricId, or tag=None to use the study's metric."
        )
    if tag in RESERVED_FIELDS:
        raise ConfigurationError(
            f"report_metric({argument}={tag!r}): this name is a field of hypertune's metric "
            f"line ({', '.join(sorted(RESERVED_FIELDS))}) and would overwrite it. Fix: "
            "use the study's metricId, e.g. tag='val/acc'."
        )
    known = _study_tags()
    if known and tag not in known and (tag, known[0]) not in _WARNED_TAGS:
        _WARNED_TAGS.add((tag, known[0]))
        if len(known) > 1:
            source = f"each of the study's metrics {known!r}"
        else:
            source = _TAG_ENV if os.environ.get(_TAG_ENV) else "the study's metric"
            source = f"{source}={known[0]!r}"
        warnings.warn(
            f"report_metric({argument}={tag!r}) differs from {source}: Vertex AI reads "
            "only the study's metricIds, so it may not see these reports. Fix: pass "
            "tag=None to use the study's tag.",
            ReportWarning,
            stacklevel=4,
        )
    return tag


def _check_step(step: int | None) -> int | None:
    if step is None:
        return None
    number = (
        -1 if isinstance(step, bool) or not hasattr(step, "__index__") else operator.index(step)
    )
    if number < 0:
        raise ConfigurationError(
            f"report_metric(step={step!r}): step must be a non-negative integer (the "
            "global step) or None. Fix: pass e.g. step=trainer.global_step."
        )
    return number


def _as_float(value: SupportsFloat, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(
            f"report_metric({name}={value!r}): expected a real number (float, int, "
            f"numpy or 0-d tensor scalar), got {type(value).__name__}. Fix: pass "
            "float(value)."
        ) from error


def _entries(
    value: SupportsFloat | None,
    tag: str | None,
    metrics: Mapping[str, SupportsFloat] | None,
) -> dict[str, float]:
    if metrics is not None and not isinstance(metrics, Mapping):
        raise ConfigurationError(
            f"report_metric(metrics={metrics!r}): expected a mapping of metricId to value, "
            "e.g. metrics={'val/acc': 0.9, 'latency': 12.0}."
        )
    entries: dict[str, float] = {}
    if value is not None:
        entries[_check_tag(tag)] = _as_float(value, "value")
    elif tag is not None:
        raise ConfigurationError(
            f"report_metric(tag={tag!r}, value=None): tag names the value, and there is "
            f"none. Fix: pass the value, or put it in metrics={{{tag!r}: <value>}}."
        )
    elif not metrics:
        raise ConfigurationError(
            "report_metric(value=None, metrics=None): nothing to report. Fix: pass a value, "
            "e.g. report_metric(0.9), or metrics={'val/acc': 0.9, 'latency': 12.0}."
        )
    for name, raw in (metrics or {}).items():
        checked = _check_tag(name, "metrics")
        if checked in entries:
            raise ConfigurationError(
                f"report_metric(metrics={{{name!r}: ...}}): {name!r} is also the tag of "
                "value. Fix: report it once, in value or in metrics."
            )
        entries[checked] = _as_float(raw, f"metrics[{name!r}]")
    return entries


def report_metric(
    value: SupportsFloat | None = None,
    *,
    tag: str | None = None,
    step: int | None = None,
    metrics: Mapping[str, SupportsFloat] | None = None,
    checkpoint_path: str | os.PathLike[str] = "",
    substitute_nonfinite: float | None = None,
    chief_only: bool = True,
) -> bool:
    """Append one measurement to the Vertex AI metric file, in hypertune's exact format.

    Each call adds one line ``{"checkpoint_path": ..., "global_step": "<int>",
    "timestamp": <float>, "trial": "<CLOUD_ML_TRIAL_ID>", "<tag>": "<value>"}``
    to ``CLOUD_ML_HP_METRIC_FILE`` (default ``/tmp/hypertune/output.metrics``);
    hypertune keeps the last 100 lines. No Vertex environment is needed.
    The tag is ``tag``, else ``CLOUD_ML_HP_METRIC_TAG``, else the first metric of
    ``VERTEX_HYDRA_STUDY`` (:func:`default_tag`), else :data:`DEFAULT_TAG`
    (``"training/hptuning/metric"``); an explicit tag that is none of the
    study's metrics is warned about once. ``metrics`` adds one
    ``"<metricId>": "<value>"`` pair per entry to the same line, for a study
    with several metrics. NaN and ±inf are not written (a :class:`ReportWarning`
    says so), so a diverged trial is infeasible rather than scored, unless
    ``substitute_nonfinite`` gives a value to write instead.

    The first report of a process keeps the lines of the same trial
    (``CLOUD_ML_TRIAL_ID``) already in the file, so a restarted trial's file
    holds the reports from before the restart too (see :func:`kept_lines`).

    Args:
        value: The metric value (anything ``float()`` accepts, e.g. a 0-d tensor).
        tag: The name of ``value``; should equal the study's ``metricId``.
        step: The global step of this measurement (Vertex sorts measurements by it).
        metrics: Further ``metricId -> value`` pairs written in the same line
            (a study with several ``studySpec.metrics``); ``value`` may then be omitted.
        checkpoint_path: Optional checkpoint to warm-start from, written verbatim.
        substitute_nonfinite: Finite value to write instead of NaN/inf.
        chief_only: Write only when :func:`is_chief` (default). Pass ``False``
            when the caller has already decided, e.g. Lightning's global rank 0.

    Returns:
        ``True`` when a line was written, ``False`` when skipped (non-chief, or
        every value non-finite). A non-finite value among several is left out of
        the line (or substituted), with a warning.

    Raises:
        ConfigurationError: ``value``, ``tag``, ``step``, ``metrics`` or
            ``substitute_nonfinite`` is invalid.

    Example:
        >>> report_metric(0.5, tag="val/loss", step=10)
        True
        >>> report_metric(metrics={"val/acc": 0.9, "latency": 12}, step=11)
        True
        >>> import json
        >>> line = json.loads(open(get_writer().metric_path).read().splitlines()[-1])
        >>> line["val/acc"], line["latency"], line["global_step"]
        ('0.9', '12.0', '11')
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     report_metric(float("nan"), tag="val/loss")
        False
    """
    entries = _entries(value, tag, metrics)
    global_step = _check_step(step)
    if substitute_nonfinite is not None and not math.isfinite(
        _as_float(substitute_nonfinite, "substitute_nonfinite")
    ):
        raise ConfigurationError(
            f"report_metric(substitute_nonfinite={substitute_nonfinite!r}): the "
            "substitute must be finite. Fix: pass e.g. 0.0, or None to skip the report."
        )
    if chief_only and not is_chief():
        return False
    written: dict[str, float] = {}
    for name, number in entries.items():
        if math.isfinite(number):
            written[name] = number
        elif substitute_nonfinite is None:
            warnings.warn(
                f"report_metric: {name!r} is {number} at step {global_step}; "
                "nothing was written for it, so Vertex AI will not score it in this "
                "measurement (a trial with no measurement is infeasible). Fix: pass "
                "substitute_nonfinite=<value> to write a value instead.",
                ReportWarning,
                stacklevel=2,
            )
        else:
            warnings.warn(
                f"report_metric: {name!r} is {number} at step {global_step}; "
                f"wrote substitute_nonfinite={float(substitute_nonfinite)} instead.",
                ReportWarning,
                stacklevel=2,
            )
            written[name] = float(substitute_nonfinite)
    if not written:
        return False
    writer = get_writer()
    (first_tag, first_value), *others = written.items()
    with _LOCK:
        # hypertune writes one tag per call: let it build the line for the first
        # metric with its file write held, add the others, then let it write.
        writer.held = bool(others)
        try:
            writer.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag=first_tag,
                metric_value=first_value,
                global_step=global_step,
                checkpoint_path=os.fspath(checkpoint_path),
            )
            line = writer.metrics_queue[-1]
            for name, number in others:
                line[name] = str(number)  # as hypertune writes a value
        finally:
            writer.held = False
        if others:
            writer._dump_metrics_to_file()
    return True
