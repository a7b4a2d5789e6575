"""report.html: one offline file with the table and plotly's inlined JavaScript, rendered in Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from test_viz import _study

from vertex_hydra.results.html import write_report

CHROMIUM = Path("/usr/bin/chromium")


def test_report_is_self_contained_with_the_table_and_inlined_plotly(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    text = write_report(_study(), tmp_path / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]?https?://", text)
    assert "<script src" not in text
    assert "Plotly.newPlot" in text and len(text) > 1_000_000  # plotly.js itself is inlined
    assert "<table id='trials'>" in text and "<td>4 *</td>" in text
    assert text.count("class='plotly-graph-div'") + text.count('class="plotly-graph-div"') >= 5


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian's chromium package)")
    from PIL import Image

    page = write_report(_study(), tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=300, check=True,
    )  # fmt: skip
    image = Image.open(shot).convert("RGB")
    colored = sum(1 for r, g, b in image.get_flattened_data() if max(r, g, b) - min(r, g, b) > 60)
    assert colored > 2000  # plot markers and lines, not a blank or text-only page


class _RecordingProxy:
    """A loopback 'proxy' that records every connection Chromium makes through it (and answers none)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.requests: list[bytes] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1.0)
                try:
                    self.requests.append(connection.recv(4096))
                except OSError:
                    self.requests.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


def _load_in_chromium(page: Path, profile: Path) -> tuple[str, str, list[bytes]]:
    """Load ``page``, let its scripts run, and return the DOM, Chromium's log and any requests made."""
    proxy = _RecordingProxy()
    try:
        run = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>",
             "--disable-features=NetworkTimeServiceQuerying", "--virtual-time-budget=10000",
             "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        proxy.close()
    # A connection that sends no byte is Chromium's speculative preconnect, not a request:
    # it fetched nothing (seen once in five runs as b'').
    page_requests = [r for r in proxy.requests if r.strip() and not _BROWSER_OWN.match(r)]
    return run.stdout, run.stderr, page_requests


# Chromium's own services (network time, component updates) that it contacts
# whatever the page does, flags or not; any other request came from the page.
_BROWSER_OWN = re.compile(
    rb"(GET http://|POST http://|CONNECT )[\w.-]*\.(google\.com|googleapis\.com|gvt1\.com)[:/]"
)


# Chromium logs every console message (console.error, an uncaught exception) as
# ``...:INFO:CONSOLE:<line>] "<text>"``; plotly itself logs nothing, so any is a failure.
_CONSOLE_ERROR = re.compile(r":CONSOLE[:(]")


@pytest.mark.slow
def test_report_draws_every_plot_with_no_console_error_and_no_network_request(
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian's chromium package)")
    # The detectors first prove they can fail: a page that logs an error and fetches a URL.
    control = tmp_path / "control.html"
    control.write_text(
        "<html><body><script>console.error('boom');"
        "fetch('http://example.invalid/x.js').catch(() => {});</script></body></html>",
        encoding="utf-8",
    )
    _, log, requests = _load_in_chromium(control, tmp_path / "profile-control")
    assert _CONSOLE_ERROR.search(log), log[-2000:]
    assert any(b"example.invalid" in r for r in requests), requests

    page = write_report(_study(), tmp_path / "report.html")
    dom, log, requests = _load_in_chromium(page, tmp_path / "profile")
    assert not _CONSOLE_ERROR.search(log), log[-2000:]
    assert requests == []
    figures = len(re.findall(r"class=\"[^\"]*\bplotly-graph-div\b", dom))
    drawn = len(re.findall(r"<svg[^>]*class=\"[^\"]*\bmain-svg\b", dom))
    assert figures >= 5 and drawn >= figures  # plotly ran and drew an SVG for every figure
