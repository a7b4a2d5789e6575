"""Test-wide settings: docstring examples never write outside their tmp folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _doctest_metric_file(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point hypertune's metric file into ``tmp_path`` while a docstring example runs."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "output.metrics"))
