"""Smoke test of the installed wheel, run by ``.ci/run`` in a fresh venv outside the checkout.

It proves that what users install works: the package (not the checkout) is
imported, ``py.typed`` ships, the ``vertex-hydra`` command and every
subcommand's ``--help`` run, Hydra discovers the ``vertex`` sweeper, and the core API works with only the
required dependencies (no torch, Lightning, Optuna or aiplatform installed).

Run: ``python tests/smoke_installed.py`` (exit status 0 when every check passes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    """Run every check; print one line per check; return the exit status."""
    failures: list[str] = []

    def check(name: str, ok: bool, detail: str = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
        if not ok:
            failures.append(name)

    import vertex_hydra

    package = Path(vertex_hydra.__file__).resolve().parent
    check("imported from site-packages", "site-packages" in package.parts, str(package))
    check("py.typed ships", (package / "py.typed").is_file())
    check(
        "to_hydra_args",
        vertex_hydra.to_hydra_args(["--data.batch_size=64.0"]) == ["data.batch_size=64"],
    )

    script = Path(sys.executable).with_name("vertex-hydra")
    run = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    check("vertex-hydra --help", run.returncode == 0 and "check" in run.stdout, run.stderr)
    for command in ("check", "local", "submit", "results", "dashboard"):
        run = subprocess.run(
            [str(script), command, "--help"], capture_output=True, text=True, check=False
        )
        check(f"vertex-hydra {command} --help", run.returncode == 0, run.stderr[-300:])

    try:
        _ = vertex_hydra.HypertuneCallback
        check("HypertuneCallback without Lightning names the extra", False, "no error raised")
    except ImportError as error:
        check(
            "HypertuneCallback without Lightning names the extra",
            "vertex-hydra[lightning]" in str(error),
            str(error),
        )
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    sweepers = [p.__name__ for p in Plugins.instance().discover(Sweeper)]
    check("Hydra discovers hydra/sweeper: vertex", "VertexSweeper" in sweepers, str(sweepers))
    heavy = [m for m in ("torch", "lightning", "optuna", "google.cloud") if m in sys.modules]
    check("no heavy module imported", not heavy, str(heavy))
    print(f"{len(failures)} failed" if failures else "all smoke checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
