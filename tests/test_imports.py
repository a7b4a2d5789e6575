"""Importing ``vertex_hydra`` stays light, and its public API is complete.

Heavy or optional dependencies load lazily (STYLE.md, principle 2). Each check
runs ``import`` in a fresh interpreter, as click's ``tests/test_imports.py``
does, because this test session has long since imported everything.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import importlib.resources
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import vertex_hydra

#: Packages that ``import vertex_hydra`` must never import.
HEAVY = (
    "torch",
    "lightning",
    "pytorch_lightning",
    "optuna",
    "google.cloud",
    "matplotlib",
    "sklearn",
    "plotly",
    "optuna_dashboard",
)

#: Modules that must import without any of ``HEAVY``.
LIGHT_MODULES = (
    "vertex_hydra",
    "vertex_hydra.translate",
    "vertex_hydra.decorator",
    "vertex_hydra.errors",
    "vertex_hydra.report",
    "vertex_hydra.study_env",
    "vertex_hydra.resolvers",
    "vertex_hydra._lazy",
    "vertex_hydra.cluster",
    "vertex_hydra.cli",
    "vertex_hydra.check",
    "vertex_hydra.local",
    "vertex_hydra.results",
    "vertex_hydra.dashboard",
    "vertex_hydra.cloud",
    "vertex_hydra.cloud._api",
    "vertex_hydra.cloud._cli",
    "vertex_hydra.cloud._results",
    "vertex_hydra.jobspec._image",
)

# Only modules that the import *adds* count: a namespace-package ``.pth`` file
# (google-cloud-aiplatform installs one) puts an empty ``google.cloud`` into
# ``sys.modules`` at interpreter start-up, before any import of ours.
_CHILD = """
import importlib, json, sys
before = set(sys.modules)
importlib.import_module(sys.argv[1])
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted(
    name for name in set(sys.modules) - before
    if any(name == h or name.startswith(h + ".") for h in heavy)
)))
"""


def _heavy_modules_after_import(module: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, module, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing {module} failed:\n{result.stderr}"
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_import_pulls_in_no_heavy_dependency(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} does not exist yet")
    loaded = _heavy_modules_after_import(module)
    assert loaded == [], (
        f"'import {module}' imported {loaded}; import heavy or optional packages "
        f"inside the function that needs them, or add the name to vertex_hydra._LAZY"
    )


@pytest.mark.parametrize("name", vertex_hydra.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(vertex_hydra, name) is not None
    assert name in dir(vertex_hydra)


def test_lazy_names_resolve_to_their_module_objects() -> None:
    for name, module in vertex_hydra._LAZY.items():
        assert name in vertex_hydra.__all__
        assert getattr(vertex_hydra, name) is getattr(importlib.import_module(module), name)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        vertex_hydra.no_such_name  # noqa: B018


def test_package_ships_py_typed() -> None:
    # The installed package has the marker next to its modules ...
    assert importlib.resources.files("vertex_hydra").joinpath("py.typed").is_file()
    # ... and the build configuration puts it into wheels and sdists.
    setup_cfg = Path(__file__).resolve().parent.parent / "setup.cfg"
    if not setup_cfg.is_file():
        pytest.skip("setup.cfg is not next to the tests (running from an installed copy)")
    config = configparser.ConfigParser()
    config.read(setup_cfg, encoding="utf-8")
    shipped = config.get("options.package_data", "vertex_hydra", fallback="").split()
    assert "py.typed" in shipped, "setup.cfg [options.package_data] must list py.typed"


_HELP_CHILD = """
import json, sys
before = set(sys.modules)
from vertex_hydra.cli import main
try:
    main([sys.argv[1], "--help"])
except SystemExit:
    pass
print(json.dumps(sorted(n for n in set(sys.modules) - before
                        if n == "google.cloud" or n.startswith(("google.cloud.", "google.auth",
                                                                "google.api_core")))))
"""


@pytest.mark.parametrize("command", ["submit", "results"])
def test_cloud_help_imports_nothing_from_google(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _HELP_CHILD, command],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert f"usage: vertex-hydra {command}" in result.stdout
    assert json.loads(lines[-1]) == []


def _module_imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, anywhere in its text.

    Imports inside functions and under ``TYPE_CHECKING`` count too. ``from pkg import sub``
    counts as importing ``pkg.sub`` only, since Python runs ``pkg/__init__.py`` for any
    submodule anyway.
    """
    package = Path(vertex_hydra.__file__).parent
    modules: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    kept = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*kept, base] if base else kept)
                subs = [f"{base}.{alias.name}" for alias in node.names]
                found = [s for s in subs if s in modules] or [base]
            else:
                continue
            graph[name].update(f for f in found if f in modules and f != name)
    return graph


def test_the_package_has_no_import_cycle() -> None:
    graph = _module_imports()
    assert len(graph) > 50 and "vertex_hydra.local.trial" in graph["vertex_hydra.local.study"]
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
