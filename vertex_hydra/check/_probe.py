"""Compose a trial's Hydra config without training: run it with ``--cfg job`` and read it back.

Used by ``vertex-hydra check``. A *composition* is one run of the job's trial
command, with the probe parameters exactly as Vertex AI passes them, followed
by ``--cfg job`` so that Hydra prints the composed config and exits. Several
compositions run in parallel; each gets its own trace file, in which
``@vertex_compatible`` records how it translated the arguments.

Example:
    >>> parse_config("loading...\\ndata:\\n  batch_size: 64\\n")
    {'data': {'batch_size': 64}}
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vertex_hydra.decorator import TRACE_ENV
from vertex_hydra.jobspec import JobSpec

__all__ = [
    "Composition",
    "compose_argv",
    "run_compositions",
    "run_replica",
    "parse_config",
    "essential_error",
    "error_keys",
    "is_missing_key_error",
    "command_text",
    "CFG_FLAGS",
]

#: Appended after Vertex's arguments: Hydra prints the job config and exits.
CFG_FLAGS = ("--cfg", "job")
# A line that can open Hydra's YAML dump: a top-level ``key:`` whose key has no
# space (unlike log lines such as "Using device: cpu"), or an empty ``{}``.
_MAPPING_START = re.compile(r"""^(?:[\w$][\w$.\-/@]*|'[^']*'|"[^"]*"):(?:\s|$)|^\{\}\s*$""")
# Lines of Hydra's error report that locate the error but do not explain it.
_LOCATOR = re.compile(
    r"^\s*(full_key:|object_type=|reference_type=|Set the environment variable HYDRA_FULL_ERROR)"
)
_MISSING_KEY_MARKERS = ("not in struct", "Could not override", "Key not found")
_KEY_PATTERNS = (
    re.compile(r"^\s*full_key: (\S+)", re.MULTILINE),
    re.compile(r"Could not override '([^']+)'"),
    re.compile(r"Error merging override [~+]*([^=\s]+)="),
    re.compile(r"Could not find '([^'/]+)/"),  # a config group's missing option
    re.compile(r"Could not (?:append to config|delete)[^']*'([^']+)'"),
)


@dataclass(frozen=True)
class Composition:
    """The outcome of one ``--cfg job`` run of the trial command.

    Args:
        params: The probe value of each parameter passed, by parameter id.
        argv: The command line run: the trial's argv, then ``--cfg job``.
        returncode: The exit status, or ``None`` when the run timed out.
        stdout: Everything the run printed on stdout.
        stderr: Everything the run printed on stderr.
        config: The composed job config read from ``stdout``, if any.
        trace: What ``@vertex_compatible`` recorded, or ``None`` if it did not run.
        seconds: Wall time of the run.

    Example:
        >>> c = Composition({}, ("python", "train.py", "--cfg", "job"), 0, "a: 1\\n", "",
        ...                 {"a": 1}, None, 0.3)
        >>> c.ok
        True
    """

    params: Mapping[str, float | str]
    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    config: dict[str, Any] | None
    trace: dict[str, Any] | None
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the run exited 0 and printed a config."""
        return self.returncode == 0 and self.config is not None


def compose_argv(job: JobSpec, params: Mapping[str, float | str], python: str | None) -> list[str]:
    """The argv of a composition: exactly Vertex's trial argv, then ``--cfg job``.

    Example:
        >>> job = JobSpec.from_dict({
        ...     "studySpec": {"metrics": [{"metricId": "m", "goal": "MINIMIZE"}],
        ...                   "parameters": [{"parameterId": "bs",
        ...                                   "discreteValueSpec": {"values": [32, 64]}}]},
        ...     "trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {
        ...         "imageUri": "img", "command": ["python", "t.py"]}}]}})
        >>> compose_argv(job, {"bs": 64}, "py")
        ['py', 't.py', '--bs=64.0', '--cfg', 'job']
    """
    return job.trial_argv(params, python) + list(CFG_FLAGS)


def parse_config(stdout: str) -> dict[str, Any] | None:
    """Read the config Hydra printed for ``--cfg job``, ignoring what the app printed before it.

    Hydra writes the config last, so the config is the longest tail of
    ``stdout`` that opens with a top-level ``key:`` line (a key without spaces)
    and parses as a YAML mapping (with OmegaConf's loader, which reads ``1e-05``
    as a float). A line printed before it that also looks like ``key: value``
    with a one-word key would join the config as one more key; that never
    changes the keys the parameters set.

    Returns:
        The config as plain containers (interpolations unresolved), or ``None``.

    Example:
        >>> parse_config("Seed set to 0\\nmodel:\\n  lr: 1.0e-05\\n")
        {'model': {'lr': 1e-05}}
    """
    from omegaconf import DictConfig, OmegaConf

    lines = stdout.splitlines()
    for start, line in enumerate(lines):
        if not _MAPPING_START.match(line):
            continue
        try:
            config = OmegaConf.create("\n".join(lines[start:]) + "\n")
        except Exception:  # noqa: BLE001, S112 - any YAML or OmegaConf error: try a later start
            continue
        if isinstance(config, DictConfig):
            container = OmegaConf.to_container(config, resolve=False)
            return (
                {str(k): v for k, v in container.items()} if isinstance(container, dict) else None
            )
    return None


def essential_error(stderr: str, *, max_chars: int = 300) -> str:
    """Trim a failed composition's stderr to the lines that explain the error.

    Hydra's report keeps its message and drops the locator lines (``full_key``,
    ``object_type``) and the ``HYDRA_FULL_ERROR`` hint; a Python traceback keeps
    its last line. The result is one line.

    Example:
        >>> essential_error("Error merging override model.act=swish\\n"
        ...                 "Invalid value 'swish', expected one of [RELU, GELU]\\n"
        ...                 "    full_key: model.act\\n")
        "Invalid value 'swish', expected one of [RELU, GELU]"
    """
    lines = [line.strip() for line in stderr.split("Config search path:")[0].splitlines()]
    lines = [line for line in lines if line]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        lines = lines[-1:]
    lines = [line for line in lines if not _LOCATOR.match(line)]
    if len(lines) > 1 and lines[0].startswith("Error merging override"):
        lines = lines[1:]  # the override itself is shown in the table already
    text = " ".join(lines[-4:]) or "(nothing on stderr)"
    return text if len(text) <= max_chars else "..." + text[-max_chars:]


def error_keys(stderr: str) -> list[str]:
    """The config keys a Hydra error report names, most specific first.

    Example:
        >>> error_keys("Could not override 'data.bs'.\\n    full_key: data.bs\\n")
        ['data.bs']
    """
    keys: list[str] = []
    for pattern in _KEY_PATTERNS:
        for key in pattern.findall(stderr):
            if key not in keys:
                keys.append(key)
    return keys


def is_missing_key_error(stderr: str) -> bool:
    """Whether a Hydra error report says an override's key does not exist.

    Example:
        >>> is_missing_key_error("Could not override 'data.bs'.\\nKey 'bs' is not in struct")
        True
    """
    return any(marker in stderr for marker in _MISSING_KEY_MARKERS)


def command_text(argv: Sequence[str]) -> str:
    """A shell-quoted command line, for messages.

    Example:
        >>> command_text(["python", "train.py", "--cfg", "job"])
        'python train.py --cfg job'
    """
    return shlex.join(argv)


def run_compositions(
    job: JobSpec,
    batches: Sequence[Mapping[str, float | str]],
    *,
    python: str | None = None,
    timeout: float = 60.0,
    jobs: int | None = None,
    ids: Mapping[str, str] | None = None,
) -> list[Composition]:
    """Run one composition per batch of probe values, in parallel, in the job's folder.

    Args:
        job: The tuning job; its trial command runs with cwd ``job.working_dir``.
        batches: Each maps parameter ids (or names in ``ids``) to the probe value
            passed in one run.
        python: The interpreter that replaces a leading ``python`` of the command.
        timeout: Seconds after which a run is killed (its ``returncode`` is ``None``).
        jobs: Runs at a time (default: the number of CPUs).
        ids: The ``parameterId`` of each batch key that is not one itself (children
            sharing an id, see :func:`~vertex_hydra.check._compose.probe_slots`).
            Each composition's ``params`` keeps the batch's own keys.

    Example:
        >>> [c.ok for c in run_compositions(job, [{}, {"data.batch_size": 64}])]  # doctest: +SKIP
        [True, True]
    """
    workers = max(1, min(len(batches), jobs or os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="vertex-hydra-check-") as tmp:
        folder = Path(tmp)

        def one(index: int) -> Composition:
            named = {(ids or {}).get(k, k): v for k, v in batches[index].items()}
            argv = compose_argv(job, named, python)
            return _run_one(job, index, argv, batches[index], folder, timeout)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, range(len(batches))))


def run_replica(
    job: JobSpec, argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 60.0
) -> Composition:
    """Run one composition of any replica: ``argv`` (ending in ``--cfg job``) with ``env`` added.

    ``env`` stands in for the trial environment of :meth:`JobSpec.trial_env`: a
    worker's composition runs with the variables Vertex gives that replica
    (its ``CLUSTER_SPEC``, ``RANK``, ...).

    Example:
        >>> run_replica(job, job.pool_argv(1, {}) + ["--cfg", "job"], env).ok  # doctest: +SKIP
        True
    """
    with tempfile.TemporaryDirectory(prefix="vertex-hydra-check-") as tmp:
        return _run_one(job, 0, list(argv), {}, Path(tmp), timeout, env)


def _run_one(
    job: JobSpec,
    index: int,
    argv: list[str],
    params: Mapping[str, float | str],
    tmp: Path,
    timeout: float,
    replica_env: Mapping[str, str] | None = None,
) -> Composition:
    trace_path = tmp / f"trace-{index}.json"
    env = dict(os.environ)
    # The short Hydra report names the failing key; a full traceback buries it.
    env.pop("HYDRA_FULL_ERROR", None)
    env.update(
        replica_env
        if replica_env is not None
        else job.trial_env(
            f"check-{index}", metric_file=tmp / f"metrics-{index}", output_root=tmp / "output"
        )
    )
    env[TRACE_ENV] = str(trace_path)
    start = time.perf_counter()
    try:
        process = subprocess.Popen(
            argv,
            cwd=job.working_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # so a timeout can end the run's children too
        )
    except OSError as error:
        return Composition(
            params, tuple(argv), 127, "", f"cannot start {argv[0]!r}: {error.strerror}",
            None, None, time.perf_counter() - start,
        )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        returncode = None
    trace = _read_trace(trace_path)
    config = parse_config(stdout) if returncode == 0 else None
    seconds = time.perf_counter() - start
    return Composition(params, tuple(argv), returncode, stdout, stderr, config, trace, seconds)


def _read_trace(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
