"""Test-wide settings: docstring examples never write outside their tmp folder; hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase


@pytest.fixture(autouse=True)
def _doctest_metric_file(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point hypertune's metric file into ``tmp_path`` while a docstring example runs."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "output.metrics"))


# Property tests are reproducible. ``dev`` (the default, quick for contributors) keeps failing
# examples in hypothesis's database, so a failure found once is tried first on the next run;
# ``ci`` (when CI=true) runs at least 2,000 examples per property from a fixed seed, so CI never
# fails at random. Both print the example and the blob that reproduces it.
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    print_blob=True,
    database=DirectoryBasedExampleDatabase(Path(__file__).parent / ".hypothesis" / "examples"),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    settings.get_profile("dev"),
    max_examples=2000,
    derandomize=True,
    database=None,
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)
