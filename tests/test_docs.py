"""The docs say what the code does: generated example tables are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.translation
def test_translation_reference_tables_are_current() -> None:
    """docs/translation.md's examples are the output of to_hydra_args, not hand-written."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_translation.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\npython -m pytest\n" in readme
    assert "\npython -m pytest ||" in ci or "\npython -m pytest\n" in ci


def test_rehearsal_table_in_check_md_is_current() -> None:
    """docs/check.md's table of rehearsed fields is generated from vertex_hydra.jobspec._rehearsal."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_rehearsal.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
