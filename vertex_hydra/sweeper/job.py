"""The sweeper's options → a ``HyperparameterTuningJob`` dict, loaded as a :class:`~vertex_hydra.jobspec.JobSpec`.

The dict is exactly a job file: ``vertex-hydra check``, ``local`` and ``submit``
accept it (the ``export`` backend writes it as ``job.yaml``).

Example:
    >>> from vertex_hydra.sweeper.params import search_space
    >>> raw = build_job(
    ...     {"metric": "acc", "direction": "maximize", "n_trials": 4, "n_jobs": 2},
    ...     search_space({"x": "interval(0, 1)"}), command=["python", "app.py"], args=["a=1"])
    >>> raw["studySpec"]["metrics"], raw["maxTrialCount"], raw["parallelTrialCount"]
    ([{'metricId': 'acc', 'goal': 'MAXIMIZE'}], 4, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vertex_hydra.errors import ConfigurationError
from vertex_hydra.sweeper.params import SearchSpace

__all__ = ["build_job", "metrics", "check_options", "REFUSED", "BACKENDS"]

#: hydra-optuna-sweeper keys with no Vertex meaning, and what to use instead.
REFUSED = {
    "sampler": "Vertex AI picks the trials itself: delete hydra.sweeper.sampler and set "
    "hydra.sweeper.algorithm (null for Bayesian optimisation, GRID_SEARCH or RANDOM_SEARCH), "
    "and hydra.sweeper.seed for a reproducible local study",
    "storage": "the study's store is <sweep dir>/study.db (local) or Vertex AI itself: delete "
    "hydra.sweeper.storage and run -m again with the same hydra.sweep.dir to resume",
    "max_failure_rate": "Vertex AI counts failed trials, it takes no rate: delete "
    "hydra.sweeper.max_failure_rate and set hydra.sweeper.max_failed_trials "
    "(maxFailedTrialCount), e.g. 5 for a rate of 0.25 over 20 trials",
    "custom_search_space": "Vertex AI samples every tuned parameter itself and runs none of your "
    "Python between samples: delete hydra.sweeper.custom_search_space; derive values from tuned "
    "ones with interpolations in the config, and put parameters that apply only to some values "
    "of another under hydra.sweeper.conditional",
    "search_space": "it is hydra-optuna-sweeper's old form of params: write each entry under "
    "hydra.sweeper.params in the sweep grammar (interval(a, b), range(a, b), choice(...))",
}

#: Where a study runs.
BACKENDS = ("local", "export", "vertex")

_GOALS = {"minimize": "MINIMIZE", "maximize": "MAXIMIZE"}
_ALGORITHMS = ("GRID_SEARCH", "RANDOM_SEARCH")
_SELECTIONS = ("LAST_MEASUREMENT", "BEST_MEASUREMENT")


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse hydra-optuna-sweeper's keys that Vertex AI has no use for, and unknown keys.

    A key added with ``+`` that is not an option (``+hydra.sweeper.n_trail=5``)
    would otherwise be ignored without a word.

    Raises:
        ConfigurationError: One sentence naming the key and what to write instead.

    Example:
        >>> check_options({"n_trails": 5})
        Traceback (most recent call last):
        ...
        vertex_hydra.errors.ConfigurationError: hydra.sweeper.n_trails is not an option of hydra/sweeper: vertex (did you mean n_trials?). Fix: delete it, or spell one of the options listed in docs/sweeper.md.
    """
    import difflib
    from dataclasses import fields

    from vertex_hydra.sweeper.config import VertexBlock, VertexSweeperConf

    for key, instead in REFUSED.items():
        if options.get(key) not in (None, {}, ""):
            raise ConfigurationError(f"hydra.sweeper.{key} has no meaning on Vertex AI: {instead}.")
    vertex = options.get("vertex")
    blocks: list[tuple[str, Mapping[str, Any], type]] = [
        ("hydra.sweeper", options, VertexSweeperConf)
    ]
    if isinstance(vertex, Mapping):
        blocks.append(("hydra.sweeper.vertex", vertex, VertexBlock))
    for where, block, conf in blocks:
        known = [f.name for f in fields(conf) if not f.name.startswith("_")]
        for key in block:
            if str(key).startswith("_") or key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigurationError(
                f"{where}.{key} is not an option of hydra/sweeper: vertex{hint}. Fix: delete it, "
                "or spell one of the options listed in docs/sweeper.md."
            )


def metrics(options: Mapping[str, Any]) -> list[dict[str, str]]:
    """``metric`` and ``direction`` → ``studySpec.metrics``.

    Raises:
        ConfigurationError: No metric, an unknown direction, or lists of different lengths.

    Example:
        >>> metrics({"metric": ["acc", "ms"], "direction": ["maximize", "minimize"]})
        [{'metricId': 'acc', 'goal': 'MAXIMIZE'}, {'metricId': 'ms', 'goal': 'MINIMIZE'}]
    """
    metric, direction = options.get("metric"), options.get("direction", "minimize")
    if metric in (None, "", []):
        raise ConfigurationError(
            "hydra.sweeper.metric is not set: Vertex AI reads the metric your code reports, not "
            "the task's return value. Fix: set hydra.sweeper.metric to the tag your code "
            "reports with hypertune or HypertuneCallback (e.g. val/acc)."
        )
    ids = [str(m) for m in metric] if isinstance(metric, (list, tuple)) else [str(metric)]
    goals = list(direction) if isinstance(direction, (list, tuple)) else [direction] * len(ids)
    if len(goals) != len(ids):
        raise ConfigurationError(
            f"hydra.sweeper.direction has {len(goals)} entries for {len(ids)} metrics {ids}. "
            "Fix: give one direction per metric, in the same order."
        )
    out = []
    for metric_id, goal in zip(ids, goals):
        text = str(getattr(goal, "name", goal)).lower()
        if text not in _GOALS:
            raise ConfigurationError(
                f"hydra.sweeper.direction is {goal!r}. Fix: write minimize or maximize."
            )
        out.append({"metricId": metric_id, "goal": _GOALS[text]})
    return out


def _choose(options: Mapping[str, Any], key: str, allowed: Sequence[str]) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if str(value).upper() not in allowed:
        raise ConfigurationError(
            f"hydra.sweeper.{key} is {value!r}. Fix: write one of {', '.join(allowed)}, "
            "or null for Vertex AI's default."
        )
    return str(value).upper()


def _count(options: Mapping[str, Any], key: str, default: int, least: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigurationError(
            f"hydra.sweeper.{key} is {value!r}. Fix: write a whole number of at least {least}."
        )
    return value


def build_job(
    options: Mapping[str, Any],
    space: SearchSpace,
    *,
    command: Sequence[str],
    args: Sequence[str],
    display_name: str = "hydra-sweep",
) -> dict[str, Any]:
    """The job file's mapping for these sweeper ``options`` and search ``space``.

    Raises:
        ConfigurationError: A refused key is set, or an option has a bad value.
    """
    check_options(options)
    if not space.parameters:
        raise ConfigurationError(
            "hydra.sweeper.params tunes no parameter. Fix: give at least one entry such as "
            "'model.lr: tag(log, interval(1e-4, 1e-1))'."
        )
    vertex = dict(options.get("vertex") or {})
    study: dict[str, Any] = {"metrics": metrics(options), "parameters": list(space.parameters)}
    algorithm = _choose(options, "algorithm", _ALGORITHMS)
    if algorithm:
        study["algorithm"] = algorithm
    selection = _choose(options, "measurement_selection", _SELECTIONS)
    if selection:
        study["measurementSelectionType"] = selection
    study.update(dict(options.get("stopping") or {}))
    machine: dict[str, Any] = {"machineType": vertex.get("machine_type") or "n1-standard-4"}
    if vertex.get("accelerator_type"):
        machine["acceleratorType"] = vertex["accelerator_type"]
        machine["acceleratorCount"] = int(vertex.get("accelerator_count") or 1)
    pool = {
        "machineSpec": machine,
        "replicaCount": int(vertex.get("replica_count") or 1),
        "containerSpec": {
            "imageUri": vertex.get("image_uri") or "local",
            "command": list(vertex.get("command") or command),
            "args": list(args),
        },
    }
    trial: dict[str, Any] = {"workerPoolSpecs": [pool]}
    if vertex.get("base_output_directory"):
        trial["baseOutputDirectory"] = {"outputUriPrefix": vertex["base_output_directory"]}
    if vertex.get("service_account"):
        trial["serviceAccount"] = vertex["service_account"]
    return {
        "displayName": str(options.get("study_name") or display_name),
        "maxTrialCount": _count(options, "n_trials", 20, 1),
        "parallelTrialCount": _count(options, "n_jobs", 2, 1),
        "maxFailedTrialCount": _count(options, "max_failed_trials", 0, 0),
        "studySpec": study,
        "trialJobSpec": trial,
    }
