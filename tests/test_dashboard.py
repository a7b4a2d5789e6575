"""``vertex-hydra dashboard``: optuna-dashboard serves a real study.db on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from vertex_hydra.cli import main
from vertex_hydra.dashboard import find_store, open_dashboard
from vertex_hydra.errors import ConfigurationError, MissingDependencyError
from vertex_hydra.local.store import STORE_FILE, STUDY_NAME

optuna = pytest.importorskip("optuna")
pytest.importorskip("optuna_dashboard")

CURVES = {0: [0.5, 0.7, 0.8], 1: [0.4, 0.45]}


def _make_study(workdir: Path) -> None:
    """A study shaped like local's: named STUDY_NAME, with intermediate values per step."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=f"sqlite:///{workdir / STORE_FILE}", study_name=STUDY_NAME, direction="maximize"
    )
    for number, curve in CURVES.items():
        trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
        trial.set_user_attr("vertex_parameters", {"lr": trial.params["lr"]})
        study.tell(trial, curve[-1])
        assert trial.number == number


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


@pytest.mark.slow
def test_dashboard_serves_trials_and_intermediate_values_then_stops_on_sigint(
    tmp_path: Path,
) -> None:
    _make_study(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "vertex_hydra", "dashboard", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"Dashboard of {tmp_path / STORE_FILE}: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        assert url.endswith("/dashboard")
        base = url.removesuffix("/dashboard")
        studies = _get(f"{base}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == [STUDY_NAME]
        detail = _get(f"{base}/api/studies/{studies[0]['study_id']}")
        trials = sorted(detail["trials"], key=lambda t: t["number"])
        assert [t["number"] for t in trials] == [0, 1]
        for trial in trials:
            served = sorted((iv["step"], iv["value"]) for iv in trial["intermediate_values"])
            assert served == list(enumerate(CURVES[trial["number"]], start=1))
            assert trial["values"] == [CURVES[trial["number"]][-1]]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == "vertex-hydra dashboard: stopped\n"


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_dashboard_stops_on_a_signal_even_if_started_with_sigint_ignored(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    """A shell starts ``command &`` with SIGINT ignored; the server must still stop on it."""
    _make_study(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "vertex_hydra", "dashboard", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Dashboard of ")
    finally:
        process.send_signal(sig)
        out, err = process.communicate(timeout=60)
    assert process.returncode == status
    assert err == "vertex-hydra dashboard: stopped\n"


def test_a_folder_without_a_study_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"holds no study \(no study.db\)\. Fix: pass"):
        find_store(tmp_path)
    assert main(["dashboard", str(tmp_path)]) == 2


def test_a_taken_port_is_refused(tmp_path: Path) -> None:
    _make_study(tmp_path)
    first = open_dashboard(tmp_path)
    try:
        with pytest.raises(ConfigurationError, match=rf"--port {first.port}\): .*Fix: pass"):
            open_dashboard(tmp_path, port=first.port)
    finally:
        first.close()
    with pytest.raises(ConfigurationError, match="--port must be between 0 and 65535, got -1"):
        open_dashboard(tmp_path, port=-1)


def test_missing_extra_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_study(tmp_path)
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "vertex-hydra\[dashboard\]"'):
        open_dashboard(tmp_path)


def test_a_stop_before_serving_still_counts(tmp_path: Path) -> None:
    """A signal just after the URL is printed, before serving starts, must not be lost."""
    _make_study(tmp_path)
    server = open_dashboard(tmp_path)
    try:
        server.stop()
        server.serve_forever(poll_interval=30.0)  # returns at once, not after 30 s or never
    finally:
        server.close()
