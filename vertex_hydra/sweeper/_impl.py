"""What ``python app.py -m`` does with ``hydra/sweeper: vertex``: check, build the job, run a backend.

Every user error ends the sweep before any trial with one ``Error:`` line on
stderr and exit status 2 (Hydra's own traceback printing is skipped).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from vertex_hydra.errors import CloudError, ConfigurationError, VertexHydraError
from vertex_hydra.jobspec import JobSpec
from vertex_hydra.sweeper.job import BACKENDS, build_job
from vertex_hydra.sweeper.params import SearchSpace, add_conditions, search_space

__all__ = ["run_sweep", "trial_command", "forwarded_flags", "check_keys"]

#: Hydra flags a trial needs as well, to compose the same config.
_FLAGS = (("config_name", "--config-name"), ("config_path", "--config-path"),
          ("config_dir", "--config-dir"))  # fmt: skip

#: ``hydra.run.dir`` of a local trial: the engine sets ``CLOUD_ML_TRIAL_ID``.
_TRIAL_DIR = "${oc.env:CLOUD_ML_TRIAL_ID}"


def _plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def run_sweep(options: Mapping[str, Any], config: DictConfig, arguments: Sequence[str]) -> Any:
    """Run the sweep; on a user error print one line and exit with status 2 (1 for Vertex AI's).

    Returns:
        The backend's result (:class:`~vertex_hydra.results.StudyResults` for
        ``local``, the written path for ``export``, the job name for ``vertex``).
    """
    try:
        return _run({k: _plain(v) for k, v in options.items()}, config, list(arguments))
    except VertexHydraError as error:
        sys.stdout.flush()
        sys.stderr.write(f"Error: {error}\n")
        sys.stderr.flush()
        sys.exit(1 if isinstance(error, CloudError) else 2)


def _run(options: dict[str, Any], config: DictConfig, arguments: list[str]) -> Any:
    backend = str(options.get("backend") or "local")
    if backend not in BACKENDS:
        raise ConfigurationError(
            f"hydra.sweeper.backend is {backend!r}. Fix: write one of {', '.join(BACKENDS)}."
        )
    space = search_space(options.get("params") or {}, arguments)
    if options.get("conditional"):
        add_conditions(space, options["conditional"])
    check_keys(space, config)
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    args = forwarded_flags(sys.argv[1:]) + space.fixed + ["hydra.mode=RUN"]
    if backend == "local":
        run_dir = f"{sweep_dir}/{_TRIAL_DIR}"
        args.append(f"hydra.run.dir='{run_dir}'" if _needs_quotes(str(sweep_dir)) else
                    f"hydra.run.dir={run_dir}")  # fmt: skip
    raw = build_job(
        options,
        space,
        command=trial_command(local=backend == "local"),
        args=args,
        display_name=f"{config.hydra.job.name}-sweep",
    )
    job = JobSpec.from_dict(raw)
    if backend == "local":
        from vertex_hydra.sweeper._backend_local import run_local

        return run_local(job, sweep_dir, config, seed=options.get("seed"), stream=sys.stdout)
    if backend == "export":
        from vertex_hydra.sweeper._backend_export import export

        return export(job, sweep_dir, stream=sys.stdout)
    from vertex_hydra.sweeper._backend_vertex import submit

    return submit(job, sweep_dir, options.get("vertex") or {}, stream=sys.stdout)


def _needs_quotes(path: str) -> bool:
    return any(c in path for c in " ,'\"=[]{}()\\")


def check_keys(space: SearchSpace, config: DictConfig) -> None:
    """Every tuned ``parameterId`` must be a key of the config or a config group.

    Raises:
        ConfigurationError: A parameter is neither.
    """
    choices = config.hydra.runtime.get("choices") or {}
    missing = object()
    for pid in _all_ids(space.parameters):
        if pid in choices:
            continue
        if OmegaConf.select(config, pid, default=missing, throw_on_missing=False) is missing:
            raise ConfigurationError(
                f"{space.sources.get(pid, pid)}: the config has no key {pid!r}, so no trial could "
                "receive it. Fix: spell it as in the config (see python app.py --cfg job), or add "
                "it to the config with a default."
            )


def _all_ids(parameters: Sequence[Mapping[str, Any]]) -> list[str]:
    ids = []
    for parameter in parameters:
        ids.append(str(parameter["parameterId"]))
        children = [c["parameterSpec"] for c in parameter.get("conditionalParameterSpecs", [])]
        ids += _all_ids(children)
    return ids


def forwarded_flags(argv: Sequence[str]) -> list[str]:
    """The ``--config-name/-path/-dir`` flags of this run, which every trial needs too.

    Example:
        >>> forwarded_flags(["-m", "-cn", "other", "x=1"])
        ['--config-name', 'other']
    """
    from hydra._internal.utils import get_args_parser

    parsed, _ = get_args_parser().parse_known_args(list(argv))
    out: list[str] = []
    for attr, flag in _FLAGS:
        value = getattr(parsed, attr, None)
        if value is not None:
            out += [flag, str(value)]
    return out


def trial_command(*, local: bool) -> list[str]:
    """How Vertex starts the trial: ``python <script>`` (or ``python -m <module>``).

    The script is absolute for a local study, relative to the working dir
    otherwise (the container's working dir stands in for it). A script run
    under a tool (``python -m cProfile train.py -m``) is still started as
    ``python train.py``.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    script = Path(sys.argv[0]).resolve()
    # Under ``python -m cProfile app.py -m`` (or pdb, trace) ``__main__`` is the tool's
    # module, not the app: the app is a module only when ``__main__`` is the file in argv[0].
    main_file = getattr(main, "__file__", None)
    if (
        spec is not None
        and spec.name
        and spec.name != "__main__"
        and main_file is not None
        and Path(main_file).resolve() == script
    ):
        return ["python", "-m", spec.name.removesuffix(".__main__")]
    if not local:
        try:
            return ["python", str(script.relative_to(Path.cwd()))]
        except ValueError:
            pass
    return ["python", str(script)]
