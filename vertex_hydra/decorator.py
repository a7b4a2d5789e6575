"""``@vertex_compatible``: let an ``@hydra.main`` app accept Vertex AI's trial arguments.

The decorator goes directly above ``@hydra.main``. When the app is called, it
rewrites :data:`sys.argv` *in place* with :func:`~vertex_hydra.to_hydra_args`,
calls the app (which is when Hydra parses ``sys.argv``), and restores the
original arguments afterwards.

At each call it reads the study's parameter types from ``VERTEX_HYDRA_STUDY``
(:func:`vertex_hydra.study_env.read_study`), which ``vertex-hydra local``,
``check`` and ``submit`` set for every trial, and passes them on as
``value_types``. Without the variable (or when it cannot be read, which warns)
the text rules apply.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar, overload

from vertex_hydra.errors import TranslationError
from vertex_hydra.study_env import ValueType, read_study
from vertex_hydra.translate import to_hydra_args

__all__ = ["vertex_compatible", "TRACE_ENV"]

#: When this environment variable names a file, the decorator writes its
#: translation there as JSON (``argv``, ``hydra_argv``, ``rename``,
#: ``coerce_integral_floats`` and ``value_types``, ``null`` when the trial
#: carried no study), so that ``vertex-hydra check`` can tell where
#: each Vertex parameter landed, honouring the app's own options.
TRACE_ENV = "VERTEX_HYDRA_TRACE_FILE"

P = ParamSpec("P")
R = TypeVar("R")


def _exit_with_usage_error(error: TranslationError) -> None:
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "app"
    sys.stderr.write(f"{prog}: error: {error}\n")
    raise SystemExit(2)


def _write_trace(
    argv: list[str],
    translated: list[str],
    rename: Mapping[str, str],
    coerce_integral_floats: bool,
    value_types: Mapping[str, ValueType] | None,
) -> None:
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    import json

    record = {
        "argv": argv,
        "hydra_argv": translated,
        "rename": dict(rename),
        "coerce_integral_floats": coerce_integral_floats,
        "value_types": None if value_types is None else dict(value_types),
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file)


def _is_composed_config(value: object) -> bool:
    return type(value).__name__ == "DictConfig" and type(value).__module__.startswith("omegaconf")


def _wrap(
    func: Callable[P, R],
    rename: Mapping[str, str] | None,
    coerce_integral_floats: bool,
) -> Callable[P, R]:
    rename = dict(rename or {})

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if args and _is_composed_config(args[0]):
            raise TypeError(
                f"@vertex_compatible on {func.__qualname__!r} was called with a composed "
                "config: Hydra had already parsed sys.argv. Fix: put @vertex_compatible "
                "directly ABOVE @hydra.main, not below it."
            )
        original = list(sys.argv)
        study = read_study()  # at call time: the trial's environment, not the import's
        value_types = None if study is None else study.value_types()
        try:
            translated = to_hydra_args(
                original[1:],
                rename=rename,
                coerce_integral_floats=coerce_integral_floats,
                value_types=value_types,
            )
        except TranslationError as error:
            _exit_with_usage_error(error)
        _write_trace(original[1:], translated, rename, coerce_integral_floats, value_types)
        sys.argv[1:] = translated  # same list object: others may hold a reference
        try:
            return func(*args, **kwargs)
        finally:
            sys.argv[:] = original

    return wrapper


@overload
def vertex_compatible(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def vertex_compatible(
    *,
    rename: Mapping[str, str] | None = None,
    coerce_integral_floats: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def vertex_compatible(
    func: Callable[P, R] | None = None,
    /,
    *,
    rename: Mapping[str, str] | None = None,
    coerce_integral_floats: bool = True,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Make an ``@hydra.main`` app accept Vertex AI's ``--key=value`` trial arguments.

    Use it bare or with options, directly above ``@hydra.main``. The wrapped
    function keeps its name, docstring, signature and ``__wrapped__``. A bad
    argument ends the program with exit status 2 and a one-paragraph message on
    stderr, as argparse does.

    Args:
        func: The function returned by ``@hydra.main`` (when used bare).
        rename: Maps a Vertex ``parameterId`` to the Hydra key it sets.
        coerce_integral_floats: For parameters whose type is not known, write
            ``64.0`` as ``64`` (default ``True``); the study's types, when
            ``VERTEX_HYDRA_STUDY`` carries them, take precedence.

    Returns:
        The wrapped app, or a decorator when called with options.

    Example:
        .. code-block:: python

            import hydra
            from vertex_hydra import vertex_compatible

            @vertex_compatible(rename={"lr": "model.optimizer.lr"})
            @hydra.main(version_base=None, config_path="conf", config_name="train")
            def main(cfg):
                ...

            if __name__ == "__main__":
                main()  # python train.py --lr=0.001 --data.batch_size=64.0
    """
    if func is not None:
        return _wrap(func, rename, coerce_integral_floats)

    def decorator(inner: Callable[P, R]) -> Callable[P, R]:
        return _wrap(inner, rename, coerce_integral_floats)

    return decorator
